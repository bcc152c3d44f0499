import { create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { FeatureRegistry, FeatureValue } from "@loopline/features";
import { UnavailableError, type Logger, type Metrics } from "@loopline/kit";
import { GrpcError, GrpcStatus, implementService, type ServiceBinding } from "@loopline/proto";
import {
  FeatureStore,
  WriteFeaturesResponseSchema,
  type FeatureColumn,
  type GetOnlineFeaturesResponse,
} from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { FeatureStatus, type FeatureValue as FeatureValueMessage } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { createQueryPlanner, QueryError, runQuery, type OnlineResult } from "./online-query.js";
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

// The response is built as literal messages (what create() would return: $typeName plus every field)
// rather than through create(), whose reflection costs more than the rest of a 100-entity read.
// service.int.test.ts pins the encoded answer.
const NULL_VALUE: FeatureValueMessage = { $typeName: "loopline.v1.FeatureValue", kind: { case: undefined } };

function valueMessage(v: FeatureValue): FeatureValueMessage {
  if (v === null) return NULL_VALUE; // immutable once built: safe to share
  switch (typeof v) {
    case "number":
      return { $typeName: "loopline.v1.FeatureValue", kind: { case: "number", value: v } };
    case "string":
      return { $typeName: "loopline.v1.FeatureValue", kind: { case: "text", value: v } };
    case "boolean":
      return { $typeName: "loopline.v1.FeatureValue", kind: { case: "flag", value: v } };
  }
}

/** The GetOnlineFeatures answer message for a query result. */
// Hot path: guarded by bench/features.bench.ts (GetOnlineFeatures p99).
function responseOf(result: OnlineResult): GetOnlineFeaturesResponse {
  const columns: FeatureColumn[] = result.columns.map((c) => {
    const n = c.values.length;
    const values = new Array<FeatureValueMessage>(n);
    const statuses = new Array<FeatureStatus>(n);
    const eventTimeMs = new Array<bigint>(n);
    for (let i = 0; i < n; i++) {
      values[i] = valueMessage(c.values[i] as FeatureValue);
      statuses[i] = STATUS[c.statuses[i] as string] ?? FeatureStatus.UNSPECIFIED;
      eventTimeMs[i] = BigInt(c.eventTimes[i] as number);
    }
    return { $typeName: "loopline.v1.FeatureColumn", ref: c.ref, values, statuses, eventTimeMs };
  });
  return { $typeName: "loopline.v1.GetOnlineFeaturesResponse", entityIds: [...result.entityIds], columns };
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
  const plan = createQueryPlanner(registry);
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
        const features = plan(query, options.maxEntities);
        const result = await runQuery(store, features, query, now());
        return responseOf(result);
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
