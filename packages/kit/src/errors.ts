/** Stable codes for errors raised by Loopline's own code (not transport status codes). */
export type LooplineErrorCode =
  | "CONFIG_INVALID"
  | "UNAVAILABLE"
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "INTERNAL";

/** Base class for typed errors: a fixed `name`, a stable `code`, and the `cause` kept. */
export class LooplineError extends Error {
  override name = "LooplineError";
  /** Stable machine-readable code. */
  readonly code: LooplineErrorCode;

  constructor(code: LooplineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A dependency (Kafka, Redis, ClickHouse) could not be reached; callers map it to UNAVAILABLE. */
export class UnavailableError extends LooplineError {
  override name = "UnavailableError";
  /** Which dependency was unreachable, e.g. "redis". */
  readonly dependency: string;

  constructor(dependency: string, message: string, options?: { cause?: unknown }) {
    super("UNAVAILABLE", `${dependency} unavailable: ${message}`, options);
    this.dependency = dependency;
  }
}

/** Formats any thrown value for a log line without losing the cause chain. */
export function describeError(err: unknown): { message: string; name?: string; code?: string; stack?: string; cause?: string } {
  if (err instanceof Error) {
    const out: { message: string; name?: string; code?: string; stack?: string; cause?: string } = {
      message: err.message,
      name: err.name,
    };
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") out.code = String(code);
    if (err.stack !== undefined) out.stack = err.stack;
    if (err.cause !== undefined) out.cause = describeError(err.cause).message;
    return out;
  }
  return { message: String(err) };
}
