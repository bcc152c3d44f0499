import { commonConfigSchema, defineConfig, loadConfig, type ConfigOf } from "@loopline/kit";

/** Every variable the inference service reads (README lists them with describeConfig). */
export const inferenceConfigSchema = defineConfig({
  ...commonConfigSchema,
  grpcHost: { type: "string", env: "LOOPLINE_INFERENCE_HOST", default: "0.0.0.0", doc: "interface the gRPC server binds" },
  grpcPort: { type: "int", env: "LOOPLINE_INFERENCE_PORT", min: 0, max: 65535, default: 50052, doc: "gRPC port (Predict, PredictBatch and the Open Inference Protocol)" },
  adminPort: { type: "int", env: "LOOPLINE_INFERENCE_ADMIN_PORT", min: 0, max: 65535, default: 9403, doc: "admin HTTP port (/metrics, /healthz, /readyz)" },
  maxMessageBytes: { type: "int", env: "LOOPLINE_INFERENCE_MAX_MESSAGE_BYTES", min: 1024, default: 16 * 1024 * 1024, doc: "largest gRPC message received or sent, bytes" },
  modelSource: { type: "enum", env: "LOOPLINE_INFERENCE_MODEL_SOURCE", values: ["registry", "folder"], default: "registry", doc: "where models come from: the model registry, or a local folder" },
  registryAddress: { type: "string", env: "LOOPLINE_REGISTRY_ADDRESS", default: "127.0.0.1:50053", doc: "model-registry gRPC address (source registry)" },
  modelDir: { type: "string", env: "LOOPLINE_INFERENCE_MODEL_DIR", default: "models", doc: "folder of <model>/<version>/{model.onnx,version.json} (source folder)" },
  modelPollIntervalMs: { type: "duration", env: "LOOPLINE_INFERENCE_MODEL_POLL_INTERVAL", default: 2000, doc: "how often the model folder is rescanned (source folder)" },
  featureStoreAddress: { type: "string", env: "LOOPLINE_FEATURE_STORE_ADDRESS", default: "127.0.0.1:50051", doc: "feature-store gRPC address" },
  featureTimeoutMs: { type: "duration", env: "LOOPLINE_INFERENCE_FEATURE_TIMEOUT", default: 500, doc: "timeout of one GetOnlineFeatures call" },
  featureBatchDelayUs: { type: "int", env: "LOOPLINE_INFERENCE_FEATURE_BATCH_DELAY_US", min: 0, max: 1_000_000, default: 0, doc: "how long concurrent Predicts wait to share one GetOnlineFeatures call, µs (below 1000: one event-loop turn)" },
  featureBatchMaxEntities: { type: "int", env: "LOOPLINE_INFERENCE_FEATURE_BATCH_MAX", min: 1, default: 1024, doc: "most entities in one coalesced GetOnlineFeatures call" },
  degradedDefaults: { type: "bool", env: "LOOPLINE_INFERENCE_DEGRADED_DEFAULTS", default: false, doc: "answer from signature defaults (flagged degraded) when the feature store is unreachable, instead of UNAVAILABLE" },
  maxBatchSize: { type: "int", env: "LOOPLINE_INFERENCE_MAX_BATCH_SIZE", min: 1, default: 512, doc: "dynamic batching: most rows per run, where a version's ServingConfig says 0" },
  maxQueueDelayUs: { type: "int", env: "LOOPLINE_INFERENCE_MAX_QUEUE_DELAY_US", min: 0, max: 1_000_000, default: 0, doc: "dynamic batching: longest wait for company, µs, where a version's ServingConfig says 0 (below 1000: one event-loop turn)" },
  maxPredictBatch: { type: "int", env: "LOOPLINE_INFERENCE_MAX_PREDICT_BATCH", min: 1, default: 4096, doc: "most entities in one PredictBatch" },
  nanPolicy: { type: "enum", env: "LOOPLINE_INFERENCE_NAN_POLICY", values: ["reject", "missing", "keep"], default: "reject", doc: "NaN/±Infinity inputs: reject (INVALID_ARGUMENT), missing (Predict: the signature's missing policy; ModelInfer: reject), keep" },
  intraOpThreads: { type: "int", env: "LOOPLINE_INFERENCE_INTRA_OP_THREADS", min: 1, max: 64, default: 1, doc: "onnxruntime intra-op threads per session" },
  shadowQueueSize: { type: "int", env: "LOOPLINE_INFERENCE_SHADOW_QUEUE", min: 0, default: 4096, doc: "most mirrored entities waiting for the shadow; beyond it mirrored work is dropped and counted" },
  logBufferSize: { type: "int", env: "LOOPLINE_INFERENCE_LOG_BUFFER", min: 1, default: 200_000, doc: "most prediction records waiting for Kafka; beyond it records are dropped, counted and logged" },
  logBatchSize: { type: "int", env: "LOOPLINE_INFERENCE_LOG_BATCH", min: 1, default: 1000, doc: "most prediction records per Kafka publish" },
  logFlushIntervalMs: { type: "duration", env: "LOOPLINE_INFERENCE_LOG_FLUSH_INTERVAL", default: 100, doc: "longest a prediction record waits for its batch" },
});

/** The inference service's typed configuration. */
export type InferenceConfig = ConfigOf<typeof inferenceConfigSchema>;

/** Reads and validates the configuration from an environment object. */
export function loadInferenceConfig(env: Readonly<Record<string, string | undefined>>): InferenceConfig {
  return loadConfig(inferenceConfigSchema, env);
}
