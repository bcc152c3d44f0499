import { create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { FeatureRegistry } from "@loopline/features";
import { UnavailableError, type Logger, type Metrics } from "@loopline/kit";
import { GrpcError, GrpcStatus, implementService, toFeatureValue, type ServiceBinding } from "@loopline/proto";
import {
  FeatureColumnSchema,
  FeatureStore,
  GetOnlineFeaturesResponseSchema,
  WriteFeaturesResponseSchema,
} from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { planQuery, QueryError, runQuery } from "./online-query.js";
import type { PendingWrite, RedisFeatureStore } from "./redis-store.js";
import { plainUpdate, toPendingWrite } from "./updates.js";

const STATUS: Record<string, FeatureStatus> = {
  PRESENT: FeatureStatus.PRESENT,
  NULL_VALUE: FeatureStatus.NULL_VALUE,
  NOT_FOUND: FeatureStatus.NOT_FOUND,
  OUTSIDE_MAX_AGE: FeatureStatus.OUTSIDE_MAX_AGE,
};

/** Options of createFeatureStoreGrpc. */
export interface FeatureStoreGrpcOptions {
  store: RedisFeatureStore;
  registry: FeatureRegistry;
  maxEntities: number;
  expiryGraceMs: number;
  metrics: Metrics;
  logger: Logger;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
}

/** Maps internal failures to gRPC statuses at the boundary; nothing raw leaks to clients. */
function toGrpcError(err: unknown): unknown {
  if (err instanceof QueryError) return new GrpcError(GrpcStatus.INVALID_ARGUMENT, err.message, { cause: err });
  if (err instanceof UnavailableError) return new GrpcError(GrpcStatus.UNAVAILABLE, "feature store unavailable: redis is unreachable", { cause: err });
  return err;
}

/** The loopline.v1.FeatureStore implementation. */
export function createFeatureStoreGrpc(options: FeatureStoreGrpcOptions): ServiceBinding {
  const { store, registry, metrics } = options;
  const now = options.now ?? Date.now;
  const latency = metrics.histogram("loopline_feature_store_grpc_seconds", "gRPC handling time by method and status", ["method", "code"]);
  const timed = async <T>(method: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    let code = "OK";
    try {
      return await work();
    } catch (err) {
      const mapped = toGrpcError(err);
      code = mapped instanceof GrpcError ? mapped.codeName : "INTERNAL";
      throw mapped;
    } finally {
      latency.observe({ method, code }, (performance.now() - started) / 1000);
    }
  };

  return implementService(FeatureStore, {
    // Hot path: guarded by bench/features.bench.ts (GetOnlineFeatures p99 against bare HMGET).
    getOnlineFeatures: (req) =>
      timed("GetOnlineFeatures", async () => {
        const query = {
          entity: req.entity,
          entityIds: req.entityIds,
          refs: req.features,
          featureSet: req.featureSet,
          ...(req.asOf !== undefined ? { asOf: timestampMs(req.asOf) } : {}),
        };
        const features = planQuery(registry, query, options.maxEntities);
        const result = await runQuery(store, features, query, now());
        return create(GetOnlineFeaturesResponseSchema, {
          entityIds: [...result.entityIds],
          columns: result.columns.map((c) =>
            create(FeatureColumnSchema, {
              ref: c.ref,
              values: c.values.map(toFeatureValue),
              statuses: c.statuses.map((s) => STATUS[s] ?? FeatureStatus.UNSPECIFIED),
              eventTimeMs: c.eventTimes.map(BigInt),
            }),
          ),
        });
      }),
    writeFeatures: (req) =>
      timed("WriteFeatures", async () => {
        const t = now();
        const writes: PendingWrite[] = [];
        for (const [i, u] of req.updates.entries()) {
          const r = toPendingWrite(registry, plainUpdate(u), options.expiryGraceMs, t);
          if (!r.ok) throw new QueryError(`updates[${i}].${r.problem.detail.split(":")[0]}`, r.problem.detail.slice(r.problem.detail.indexOf(":") + 2));
          writes.push(r.write);
        }
        const outcome = await store.write(writes);
        return create(WriteFeaturesResponseSchema, { written: outcome.written, stale: outcome.stale });
      }),
  });
}
