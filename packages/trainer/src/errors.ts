/** Stable codes of TrainerError. */
export type TrainerErrorCode =
  | "INVALID_ARGUMENT"
  | "EMPTY_TRAINING_SET"
  | "ONE_CLASS"
  | "NOT_CONVERGED"
  | "EXTERNAL_TRAINER_FAILED"
  | "INVALID_TRAINER";

/** A training problem: bad input, a degenerate training set, or a failed external trainer. */
export class TrainerError extends Error {
  override name = "TrainerError";
  /** Stable code. */
  readonly code: TrainerErrorCode;

  constructor(code: TrainerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
