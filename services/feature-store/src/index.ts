// Public API of @loopline/feature-store: the service for in-process use (tests, benchmarks,
// single-binary deployments).
export { featureStoreConfigSchema, loadFeatureStoreConfig } from "./config.js";
export type { FeatureStoreConfig } from "./config.js";
export { createFeatureStoreService } from "./service.js";
export type { FeatureStoreDeps, FeatureStoreService } from "./service.js";
