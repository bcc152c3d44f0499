import type { Counter, Gauge, Histogram } from "prom-client";
import type { Metrics } from "@loopline/kit";

/** Batch-size histogram buckets (rows per onnxruntime run). */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/**
 * The inference service's metrics, in the spirit of Triton's nv_inference_*: request outcomes,
 * inferences (rows) against executions (runs) so that count / exec_count is the average batch size,
 * and request / queue / compute durations.
 */
export interface InferenceMetrics {
  /** Answered requests {model, version, route, rpc}. */
  readonly success: Counter<"model" | "version" | "route" | "rpc">;
  /** Failed requests {model, version, route, rpc, reason}; reason is the gRPC status name. */
  readonly failure: Counter<"model" | "version" | "route" | "rpc" | "reason">;
  /** Rows inferred {model, version} (Triton's nv_inference_count). */
  readonly inferenceCount: Counter<"model" | "version">;
  /** onnxruntime runs {model, version} (Triton's nv_inference_exec_count). */
  readonly execCount: Counter<"model" | "version">;
  /** Whole-request duration, seconds {model, route, rpc}. */
  readonly requestDuration: Histogram<"model" | "route" | "rpc">;
  /** Time waiting for a batch to run, seconds {model, version}. */
  readonly queueDuration: Histogram<"model" | "version">;
  /** onnxruntime run duration, seconds {model, version}. */
  readonly computeDuration: Histogram<"model" | "version">;
  /** Rows per run {model, version}. */
  readonly batchSize: Histogram<"model" | "version">;
  /** Loaded versions {model, stage}. */
  readonly loadedVersions: Gauge<"model" | "stage">;
  /** Load attempts {model, outcome}. */
  readonly modelLoads: Counter<"model" | "outcome">;
  /** Feature store calls {outcome} and entities per call. */
  readonly featureCalls: Counter<"outcome">;
  readonly featureBatchEntities: Histogram;
  readonly featureDuration: Histogram;
  /** Answers served from defaults because the feature store was unreachable {model}. */
  readonly degraded: Counter<"model">;
  /** Shadow work {model, outcome}: mirrored, dropped (queue full), failed. */
  readonly shadow: Counter<"model" | "outcome">;
  /** Prediction log: records published, dropped on overflow, waiting. */
  readonly logPublished: Counter;
  readonly logDropped: Counter;
  readonly logBuffered: Gauge;
  readonly logPublishFailures: Counter;
}

/** Registers the metrics on a service's registry. */
export function createInferenceMetrics(metrics: Metrics): InferenceMetrics {
  return {
    success: metrics.counter("loopline_inference_request_success_total", "Requests answered", ["model", "version", "route", "rpc"]),
    failure: metrics.counter("loopline_inference_request_failure_total", "Requests failed, by gRPC status name", ["model", "version", "route", "rpc", "reason"]),
    inferenceCount: metrics.counter("loopline_inference_count_total", "Rows inferred (count / exec_count = average batch size)", ["model", "version"]),
    execCount: metrics.counter("loopline_inference_exec_count_total", "onnxruntime runs", ["model", "version"]),
    requestDuration: metrics.histogram("loopline_inference_request_duration_seconds", "Request duration from receipt to answer", ["model", "route", "rpc"]),
    queueDuration: metrics.histogram("loopline_inference_queue_duration_seconds", "Time a request waited in the dynamic batcher", ["model", "version"]),
    computeDuration: metrics.histogram("loopline_inference_compute_duration_seconds", "onnxruntime run duration", ["model", "version"]),
    batchSize: metrics.histogram("loopline_inference_batch_size", "Rows per onnxruntime run", ["model", "version"], BATCH_BUCKETS),
    loadedVersions: metrics.gauge("loopline_inference_loaded_versions", "Loaded model versions by serving stage", ["model", "stage"]),
    modelLoads: metrics.counter("loopline_inference_model_loads_total", "Model version load attempts", ["model", "outcome"]),
    featureCalls: metrics.counter("loopline_inference_feature_requests_total", "GetOnlineFeatures calls to the feature store", ["outcome"]),
    featureBatchEntities: metrics.histogram("loopline_inference_feature_batch_entities", "Entities per coalesced GetOnlineFeatures call", [], BATCH_BUCKETS),
    featureDuration: metrics.histogram("loopline_inference_feature_duration_seconds", "GetOnlineFeatures call duration"),
    degraded: metrics.counter("loopline_inference_degraded_total", "Answers from signature defaults while the feature store was unreachable", ["model"]),
    shadow: metrics.counter("loopline_inference_shadow_total", "Shadow requests by outcome (mirrored, dropped, failed)", ["model", "outcome"]),
    logPublished: metrics.counter("loopline_inference_prediction_log_published_total", "Prediction records published to Kafka"),
    logDropped: metrics.counter("loopline_inference_prediction_log_dropped_total", "Prediction records dropped because the buffer was full"),
    logBuffered: metrics.gauge("loopline_inference_prediction_log_buffered", "Prediction records waiting to be published"),
    logPublishFailures: metrics.counter("loopline_inference_prediction_log_publish_failures_total", "Failed publish attempts (records are kept and retried)"),
  };
}
