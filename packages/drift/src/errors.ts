/** Machine-readable reasons a drift computation can refuse its input. */
export type DriftErrorCode = "EMPTY_SAMPLE" | "INVALID_ARGUMENT" | "UNKNOWN_COLUMN" | "INVALID_PROFILE";

/** The one error type this package throws; `code` says why, `cause` keeps the original error. */
export class DriftError extends Error {
  override readonly name = "DriftError";
  readonly code: DriftErrorCode;

  constructor(code: DriftErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
