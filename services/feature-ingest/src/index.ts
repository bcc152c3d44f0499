// Public API of @loopline/feature-ingest: the service for in-process use (tests, benchmarks,
// single-binary deployments).
export { featureIngestConfigSchema, loadFeatureIngestConfig } from "./config.js";
export type { FeatureIngestConfig } from "./config.js";
export { createFeatureIngestService, selectViews } from "./service.js";
export type { FeatureIngestDeps, FeatureIngestService } from "./service.js";
