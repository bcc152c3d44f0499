// Public API of @loopline/features: declarative feature views and the deterministic windowed
// aggregation engine shared by the stream (feature-ingest) and replay/backfill/training.
export { builtinRegistry, getFeatureSet, getFeatureView } from "./builtin-registry.js";
export { formatDuration, parseDuration, type Duration } from "./duration.js";
export {
  createFeatureEngine,
  type EngineSnapshot,
  type EntitySnapshot,
  type FeatureEngine,
  type FeatureEngineOptions,
  type IngestResult,
  type SnapshotEntry,
} from "./engine.js";
export { FeatureError, type FeatureErrorCode } from "./errors.js";
export { compareEvents, type Event, type EventInput, type FieldValue } from "./event.js";
export type { EventRejection, RejectionCode } from "./event-rejection.js";
export { parseEventTime, type EventTimeResult } from "./event-time.js";
export { createEventValidator, type EventResult, type EventValidator, type EventValidatorOptions } from "./event-validator.js";
export { ExactSum } from "./exact-sum.js";
export { formatFeatureRef, parseFeatureRef, type FeatureRef } from "./feature-ref.js";
export { isNewerUpdate, type FeatureUpdate } from "./feature-update.js";
export {
  defineFeatureView,
  type Aggregation,
  type Feature,
  type FeatureDefinition,
  type FeatureValue,
  type FeatureView,
  type FeatureViewDefinition,
  type FieldSpec,
  type FieldType,
  type SourceField,
} from "./feature-view.js";
export { cardTxnView, fraudV1FeatureSet } from "./fraud.js";
export {
  createFeatureRegistry,
  type FeatureRegistry,
  type FeatureRegistryOptions,
  type FeatureSet,
  type FeatureSetDefinition,
  type ResolvedFeature,
} from "./registry.js";
export { pointInTime, replayEvents, type PointInTimeOptions, type PointInTimeQuery, type PointInTimeRow, type ReplayResult } from "./replay.js";
export { servedStatus, servedValue, servedValues, type ServedStatus, type ServedValues } from "./served-values.js";
