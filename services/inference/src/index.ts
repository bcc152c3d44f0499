// Public API of @loopline/inference: the service factory and config (for the e2e wiring and the
// CLI), the model sources, and the pure routing functions.
export { inferenceConfigSchema, loadInferenceConfig } from "./config.js";
export type { InferenceConfig } from "./config.js";
export { createInferenceService, SERVICE_NAME, SERVICE_VERSION } from "./service.js";
export type { InferenceDeps, InferenceService } from "./service.js";
export type { ModelSource } from "./model-source.js";
export { createFolderSource, FOLDER_FILES } from "./folder-source.js";
export type { FolderSource, FolderSourceOptions } from "./folder-source.js";
export { createRegistrySource } from "./registry-source.js";
export type { RegistrySourceOptions } from "./registry-source.js";
export { chooseRoute, fnv1a32, inCanaryShare, routingBucket, ROUTING_BUCKETS } from "./routing.js";
export type { AnswerRoute } from "./routing.js";
export type { PredictionSink } from "./prediction-log.js";
export type { GetOnlineFeatures } from "./feature-client.js";
export { encodePredictionRecord } from "./record-encoding.js";
