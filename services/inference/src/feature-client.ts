import { Client, credentials, type ServiceError } from "@grpc/grpc-js";
import { GrpcError, GrpcStatus, RECONNECT_BACKOFF } from "@loopline/proto";
import { FeatureStore, type GetOnlineFeaturesResponse } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { columnsOfResponse, decodeOnlineFeatures, encodeOnlineFeaturesRequest, FeatureDecodeError, type FeatureColumnData } from "./feature-columns.js";
import type { InferenceMetrics } from "./inference-metrics.js";

/** Feature values for the entities one caller asked for. */
export interface FetchedFeatures {
  /** One column per requested ref, in the order asked for. */
  readonly columns: readonly FeatureColumnData[];
  /** rows[k] is the position of the caller's k-th entity in every column's arrays. */
  readonly rows: readonly number[];
}

/** The feature store could not be reached (UNAVAILABLE, timeout...): degraded defaults may apply. */
export class FeatureStoreUnavailableError extends Error {
  override readonly name = "FeatureStoreUnavailableError";
}

/** Reads online features, coalescing concurrent requests. */
export interface FeatureFetcher {
  /** Features `refs` of `entityIds`; throws FeatureStoreUnavailableError or a FAILED_PRECONDITION GrpcError. */
  fetch(entityIds: readonly string[], refs: readonly string[], signal?: AbortSignal): Promise<FetchedFeatures>;
  close(): void;
}

/**
 * The one call a fetcher makes: answers the response message (anything in tests) or its encoded
 * bytes (the gRPC client), which are decoded straight into columns.
 */
export type GetOnlineFeatures = (request: { entityIds: string[]; features: string[] }, options: { timeoutMs: number }) => Promise<GetOnlineFeaturesResponse | Uint8Array>;

/** Options of createFeatureFetcher. */
export interface FeatureFetcherOptions {
  /** The GetOnlineFeatures call, e.g. from featureStoreCall(address). */
  call: GetOnlineFeatures;
  /** Timeout of one GetOnlineFeatures call, ms. */
  timeoutMs: number;
  /** How long the first request of a batch waits for others, µs; below 1000 one event-loop turn. */
  batchDelayUs: number;
  /** Most entities per GetOnlineFeatures call; a full batch goes at once. */
  maxBatchEntities: number;
  metrics: InferenceMetrics;
  /** Closes the underlying client. */
  onClose?: () => void;
}

const identity = (b: Buffer): Buffer => b;

/**
 * GetOnlineFeatures over gRPC on the FeatureStore service at `address`, answering the encoded
 * response: a bare grpc-js call with hand-written codecs (feature-columns.ts), so no protobuf-es
 * message is built either way (hot path: bench/inference.bench.ts, "PredictBatch 512 entities").
 */
export function featureStoreCall(address: string, maxMessageBytes: number): { call: GetOnlineFeatures; close: () => void } {
  const client = new Client(address, credentials.createInsecure(), { ...RECONNECT_BACKOFF, "grpc.max_receive_message_length": maxMessageBytes, "grpc.max_send_message_length": maxMessageBytes });
  const path = `/${FeatureStore.typeName}/${FeatureStore.method.getOnlineFeatures.name}`;
  const serialize = (request: { entityIds: string[]; features: string[] }): Buffer => encodeOnlineFeaturesRequest(request.entityIds, request.features);
  return {
    call: (request, options) =>
      new Promise<Uint8Array>((resolve, reject) => {
        client.makeUnaryRequest(path, serialize, identity, request, { deadline: Date.now() + options.timeoutMs }, (err: ServiceError | null, response?: Buffer) => {
          if (err !== null) reject(GrpcError.from(err));
          else if (response === undefined) reject(new GrpcError(GrpcStatus.INTERNAL, "the feature store sent no response message"));
          else resolve(response);
        });
      }),
    close: () => client.close(),
  };
}

const UNREACHABLE = new Set<number>([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.CANCELLED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.UNKNOWN,
  GrpcStatus.INTERNAL,
  GrpcStatus.ABORTED,
]);

interface Waiter {
  /** rows[k]: the position of the waiter's k-th entity in the batch's ids. */
  rows: number[];
  resolve: (value: FetchedFeatures) => void;
  reject: (err: unknown) => void;
}

interface Pending {
  refs: string[];
  ids: string[];
  position: Map<string, number>;
  waiters: Waiter[];
}

/**
 * Coalesces the GetOnlineFeatures calls of concurrent requests that need the same feature refs
 * (in practice: one model version) into one call per short window, deduplicating entity ids.
 */
export function createFeatureFetcher(options: FeatureFetcherOptions): FeatureFetcher {
  const pending = new Map<string, Pending>();

  const send = async (batch: Pending): Promise<void> => {
    const started = performance.now();
    options.metrics.featureBatchEntities.observe(batch.ids.length);
    let answered: FeatureColumnData[];
    try {
      const response = await options.call({ entityIds: batch.ids, features: batch.refs }, { timeoutMs: options.timeoutMs });
      try {
        answered = response instanceof Uint8Array ? decodeOnlineFeatures(response, batch.ids.length) : columnsOfResponse(response, batch.ids.length);
      } catch (err) {
        // What grpc-js reports when a client's deserializer throws.
        if (err instanceof FeatureDecodeError) throw new GrpcError(GrpcStatus.INTERNAL, err.message, { cause: err });
        throw err;
      }
      options.metrics.featureCalls.inc({ outcome: "ok" });
    } catch (err) {
      const grpc = GrpcError.from(err);
      options.metrics.featureCalls.inc({ outcome: grpc.codeName });
      const mapped = UNREACHABLE.has(grpc.code)
        ? new FeatureStoreUnavailableError(`feature store unavailable: ${grpc.codeName} ${grpc.message}`, { cause: err })
        : new GrpcError(GrpcStatus.FAILED_PRECONDITION, `feature store refused the model's features: ${grpc.message}`, { cause: err });
      for (const w of batch.waiters) w.reject(mapped);
      return;
    } finally {
      options.metrics.featureDuration.observe((performance.now() - started) / 1000);
    }
    const byRef = new Map(answered.map((c) => [c.ref, c]));
    const columns: FeatureColumnData[] = [];
    for (const ref of batch.refs) {
      const column = byRef.get(ref);
      if (column === undefined || column.length !== batch.ids.length) {
        const problem = new FeatureStoreUnavailableError(`feature store answered without a full column for ${ref}`);
        for (const w of batch.waiters) w.reject(problem);
        return;
      }
      columns.push(column);
    }
    for (const w of batch.waiters) w.resolve({ columns, rows: w.rows });
  };

  const flush = (key: string): void => {
    const batch = pending.get(key);
    if (batch === undefined) return;
    pending.delete(key);
    void send(batch);
  };

  return {
    fetch(entityIds, refs, signal) {
      if (refs.length === 0) return Promise.resolve({ columns: [], rows: entityIds.map(() => 0) });
      const key = refs.join("\n");
      return new Promise<FetchedFeatures>((resolve, reject) => {
        let batch = pending.get(key);
        if (batch !== undefined && batch.ids.length + entityIds.length > options.maxBatchEntities) {
          flush(key);
          batch = undefined;
        }
        if (batch === undefined) {
          batch = { refs: [...refs], ids: [], position: new Map(), waiters: [] };
          pending.set(key, batch);
          const target = batch;
          const fire = () => {
            if (pending.get(key) === target) flush(key);
          };
          if (options.batchDelayUs < 1000) setImmediate(fire);
          else setTimeout(fire, options.batchDelayUs / 1000);
        }
        // One map look-up per entity (the ids of every PredictBatch are fresh strings to hash).
        const rows = new Array<number>(entityIds.length);
        for (let k = 0; k < entityIds.length; k++) {
          const id = entityIds[k] as string;
          let row = batch.position.get(id);
          if (row === undefined) {
            batch.position.set(id, (row = batch.ids.length));
            batch.ids.push(id);
          }
          rows[k] = row;
        }
        // A caller that gives up stops waiting; the shared call carries on for the others.
        const onAbort = () => reject(signal?.reason as Error);
        signal?.addEventListener("abort", onAbort, { once: true });
        batch.waiters.push({
          rows,
          resolve: (v) => {
            signal?.removeEventListener("abort", onAbort);
            resolve(v);
          },
          reject: (e) => {
            signal?.removeEventListener("abort", onAbort);
            reject(e);
          },
        });
        if (batch.ids.length >= options.maxBatchEntities) flush(key);
      });
    },
    close() {
      options.onClose?.();
    },
  };
}
