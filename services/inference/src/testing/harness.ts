// Test and benchmark helpers: a model folder, an in-memory prediction sink, a fake feature store,
// and the service started in-process on free ports.
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toJson, type MessageInitShape } from "@bufbuild/protobuf";
import { silentLogger } from "@loopline/kit";
import { createClient, GrpcError, GrpcStatus } from "@loopline/proto";
import { GRPCInferenceService } from "@loopline/proto/gen/inference/grpc_service_pb.js";
import { GetOnlineFeaturesResponseSchema, type GetOnlineFeaturesResponse } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { Inference } from "@loopline/proto/gen/loopline/v1/inference_pb.js";
import type { PredictionRecord } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { ModelVersionSchema } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { FeatureStatus, FeatureValueSchema, type FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { loadInferenceConfig } from "../config.js";
import type { GetOnlineFeatures } from "../feature-client.js";
import { createFolderSource, FOLDER_FILES, type FolderSource } from "../folder-source.js";
import type { PredictionSink } from "../prediction-log.js";
import { createInferenceService, type InferenceDeps, type InferenceService } from "../service.js";

/** A temporary model folder, removed by cleanup(). */
export interface ModelFolder {
  readonly root: string;
  /** Writes (or rewrites) a version: model.onnx first, then version.json atomically. */
  write(model: string, version: string, artifact: Uint8Array | undefined, info: MessageInitShape<typeof ModelVersionSchema>): Promise<void>;
  /** Removes a version folder (the source then reports it archived). */
  remove(model: string, version: string): Promise<void>;
  cleanup(): Promise<void>;
}

/** Creates a temporary model folder. */
export async function createModelFolder(): Promise<ModelFolder> {
  const root = await mkdtemp(join(tmpdir(), "loopline-models-"));
  return {
    root,
    async write(model, version, artifact, info) {
      const dir = join(root, model, version);
      await mkdir(dir, { recursive: true });
      if (artifact !== undefined) await writeFile(join(dir, FOLDER_FILES.artifact), artifact);
      const json = JSON.stringify(toJson(ModelVersionSchema, create(ModelVersionSchema, info)));
      await writeFile(join(dir, `${FOLDER_FILES.version}.tmp`), json);
      await rename(join(dir, `${FOLDER_FILES.version}.tmp`), join(dir, FOLDER_FILES.version));
    },
    async remove(model, version) {
      await rm(join(root, model, version), { recursive: true, force: true });
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** A prediction sink that keeps records in memory; `failing` makes sends throw. */
export interface MemorySink extends PredictionSink {
  readonly records: PredictionRecord[];
  failing: boolean;
  /** Resolves once at least n records arrived (polls). */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
}

/** Creates an in-memory sink. */
export function createMemorySink(): MemorySink {
  const records: PredictionRecord[] = [];
  const sink: MemorySink = {
    records,
    failing: false,
    send(batch) {
      if (sink.failing) return Promise.reject(new Error("sink down"));
      records.push(...batch);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
    async waitFor(n, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (records.length < n) {
        if (Date.now() > until) throw new Error(`only ${records.length} of ${n} prediction records arrived`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
  return sink;
}

/** A plain value as a FeatureValue. */
export function value(v: number | string | boolean): FeatureValue {
  if (typeof v === "number") return create(FeatureValueSchema, { kind: { case: "number", value: v } });
  if (typeof v === "string") return create(FeatureValueSchema, { kind: { case: "text", value: v } });
  return create(FeatureValueSchema, { kind: { case: "flag", value: v } });
}

/** An in-process feature store: entity → ref → value; counts calls; `down` answers UNAVAILABLE. */
export interface FakeFeatureStore {
  readonly call: GetOnlineFeatures;
  readonly requests: { entityIds: string[]; features: string[] }[];
  down: boolean;
  /** Answer this many ms late. Default 0. */
  delayMs: number;
  table: Map<string, Record<string, number | string | boolean>>;
}

/** Creates a fake feature store answering from a table (absent → NOT_FOUND). */
export function createFakeFeatureStore(table: Record<string, Record<string, number | string | boolean>> = {}): FakeFeatureStore {
  const store: FakeFeatureStore = {
    requests: [],
    down: false,
    delayMs: 0,
    table: new Map(Object.entries(table)),
    call: async (request) => {
      store.requests.push({ entityIds: [...request.entityIds], features: [...request.features] });
      if (store.delayMs > 0) await new Promise((r) => setTimeout(r, store.delayMs));
      if (store.down) throw new GrpcError(GrpcStatus.UNAVAILABLE, "connection refused");
      return answer(store.table, request.entityIds, request.features);
    },
  };
  return store;
}

/** The columnar answer of a table for entities × refs. */
export function answer(table: Map<string, Record<string, number | string | boolean>>, entityIds: readonly string[], refs: readonly string[]): GetOnlineFeaturesResponse {
  return create(GetOnlineFeaturesResponseSchema, {
    entityIds: [...entityIds],
    columns: refs.map((ref) => {
      const values: FeatureValue[] = [];
      const statuses: FeatureStatus[] = [];
      for (const id of entityIds) {
        const v = table.get(id)?.[ref];
        values.push(v === undefined ? create(FeatureValueSchema) : value(v));
        statuses.push(v === undefined ? FeatureStatus.NOT_FOUND : FeatureStatus.PRESENT);
      }
      return { ref, values, statuses, eventTimeMs: entityIds.map(() => 0n) };
    }),
  });
}

/** A running service plus clients for both of its gRPC services. */
export interface Harness {
  readonly service: InferenceService;
  readonly source: FolderSource;
  readonly sink: MemorySink;
  readonly oip: ReturnType<typeof createClient<typeof GRPCInferenceService>>;
  readonly inference: ReturnType<typeof createClient<typeof Inference>>;
  close(): Promise<void>;
}

/** Starts the service on free ports over a model folder; `env` overrides config variables. */
export async function startHarness(options: {
  folder: ModelFolder;
  features?: FakeFeatureStore;
  env?: Record<string, string>;
  deps?: InferenceDeps;
}): Promise<Harness> {
  const config = loadInferenceConfig({
    LOOPLINE_INFERENCE_HOST: "127.0.0.1",
    LOOPLINE_INFERENCE_PORT: "0",
    LOOPLINE_INFERENCE_ADMIN_PORT: "0",
    LOOPLINE_INFERENCE_LOG_FLUSH_INTERVAL: "10ms",
    LOOPLINE_SHUTDOWN_GRACE: "5s",
    ...options.env,
  });
  const source = createFolderSource({ root: options.folder.root, pollIntervalMs: 0, logger: silentLogger });
  const sink = createMemorySink();
  const features = options.features ?? createFakeFeatureStore();
  const service = createInferenceService(config, {
    logger: silentLogger,
    modelSource: source,
    predictionSink: sink,
    getOnlineFeatures: features.call,
    ...options.deps,
  });
  await service.start();
  await service.modelsReady();
  const address = `127.0.0.1:${service.port}`;
  const oip = createClient(GRPCInferenceService, address, { timeoutMs: 10_000 });
  const inference = createClient(Inference, address, { timeoutMs: 10_000 });
  return {
    service,
    source,
    sink,
    oip,
    inference,
    async close() {
      oip.close();
      inference.close();
      await service.close();
    },
  };
}

/** Rescans the folder and waits until every load it started has finished. */
export async function refresh(h: Harness): Promise<void> {
  await h.source.refresh();
  await h.service.repository.idle();
}
