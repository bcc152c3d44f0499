// Public API of @loopline/model-registry: the service for in-process use (tests, benchmarks,
// single-binary deployments) and the pure pieces other services may reuse.

export { createLocalArtifactStore, sha256Hex } from "./artifact-store.js";
export type { ArtifactStore } from "./artifact-store.js";
export { loadRegistryConfig, registryConfigSchema } from "./config.js";
export type { RegistryConfig } from "./config.js";
export { ArtifactCorruptedError, RegistryError } from "./errors.js";
export type { RegistryErrorCode } from "./errors.js";
export { eventKey } from "./event-log.js";
export { createRegistryService } from "./service.js";
export type { RegistryService, RegistryServiceDeps } from "./service.js";
export { checkSignature, signatureColumns } from "./signature.js";
export { parseStage, stageName, STAGE_NAMES, TRANSITIONS, transitionProblem } from "./transitions.js";
export { validateArtifact } from "./validation.js";
