/** Stable codes for errors thrown by @loopline/features (definition and programming errors, never bad events). */
export type FeatureErrorCode =
  | "INVALID_DEFINITION"
  | "INVALID_FEATURE_REF"
  | "UNKNOWN_VIEW"
  | "UNKNOWN_FEATURE"
  | "UNKNOWN_FEATURE_SET"
  | "INVALID_SNAPSHOT"
  | "SNAPSHOT_VIEW_MISMATCH"
  | "AS_OF_OUT_OF_RANGE";

/** The one error class this package throws; bad events are results (`EventRejection`), not errors. */
export class FeatureError extends Error {
  override name = "FeatureError";
  /** Stable machine-readable code. */
  readonly code: FeatureErrorCode;

  constructor(code: FeatureErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
