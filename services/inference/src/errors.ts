import { LooplineError } from "@loopline/kit";
import { GrpcError, GrpcStatus } from "@loopline/proto";
import { SignatureError } from "@loopline/signature";

/** A model version could not be loaded (bad artifact, signature mismatch, failed warm-up). */
export class ModelLoadError extends LooplineError {
  override name = "ModelLoadError";

  constructor(message: string, options?: { cause?: unknown }) {
    super("FAILED_PRECONDITION", message, options);
  }
}

/** Shorthand for an INVALID_ARGUMENT answer. */
export function invalidArgument(message: string): GrpcError {
  return new GrpcError(GrpcStatus.INVALID_ARGUMENT, message);
}

/**
 * Maps anything a request path threw to the status the client sees: GrpcErrors pass through,
 * signature errors name the feature (missing → FAILED_PRECONDITION, bad value → INVALID_ARGUMENT),
 * the rest is INTERNAL (logged by the server, never shown).
 */
export function toGrpcError(err: unknown): unknown {
  if (err instanceof GrpcError) return err;
  if (err instanceof SignatureError) {
    const code = err.code === "MISSING_FEATURE" || err.code === "INVALID_SIGNATURE" ? GrpcStatus.FAILED_PRECONDITION : GrpcStatus.INVALID_ARGUMENT;
    return new GrpcError(code, err.message, { cause: err });
  }
  return err;
}

/** The metric `reason` label of a failure: the status name, e.g. "INVALID_ARGUMENT". */
export function failureReason(err: unknown): string {
  const mapped = toGrpcError(err);
  return mapped instanceof GrpcError ? mapped.codeName : "INTERNAL";
}
