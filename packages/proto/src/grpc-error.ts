import { Metadata, status as Status } from "@grpc/grpc-js";
import type { Any } from "@bufbuild/protobuf/wkt";
import { readStatusDetails } from "./status-details.js";

/** Optional parts of a GrpcError beyond its code and message. */
export interface GrpcErrorOptions {
  /** Trailing metadata sent with the status. Default: none. */
  readonly metadata?: Metadata;
  /** Typed error details (google.rpc.Status.details), e.g. a packed google.rpc.BadRequest. Default: none. */
  readonly details?: readonly Any[];
  /** The error that caused this one; kept for logs, never sent to the peer. */
  readonly cause?: unknown;
}

/**
 * A gRPC status as an error. Thrown by handlers to answer with that status and message; thrown by
 * clients when a call ends with a status other than OK.
 */
export class GrpcError extends Error {
  /** Fixed, so logs and `instanceof`-free checks can recognise the error. */
  override readonly name = "GrpcError";
  /** The gRPC status code (the numbers of `status` from @grpc/grpc-js). */
  readonly code: Status;
  /** Trailing metadata that goes (or came) with the status. */
  readonly metadata: Metadata;
  /** Typed error details carried in the `grpc-status-details-bin` trailer. */
  readonly details: readonly Any[];

  constructor(code: Status, message: string, options: GrpcErrorOptions = {}) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.metadata = options.metadata ?? new Metadata();
    this.details = options.details ?? [];
  }

  /** The status code's name, e.g. "NOT_FOUND". */
  get codeName(): string {
    return Status[this.code] ?? `CODE_${String(this.code)}`;
  }

  /**
   * Turns whatever a grpc-js client call failed with into a GrpcError: a ServiceError keeps its code,
   * message, trailers and details; anything else becomes `fallback` with the original as cause.
   */
  static from(error: unknown, fallback: Status = Status.UNKNOWN): GrpcError {
    if (error instanceof GrpcError) {
      return error;
    }
    if (isServiceError(error)) {
      return new GrpcError(error.code, error.details, {
        metadata: error.metadata,
        details: readStatusDetails(error.metadata),
        cause: error,
      });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new GrpcError(fallback, message, { cause: error });
  }
}

interface ServiceErrorLike {
  code: Status;
  details: string;
  metadata: Metadata;
}

function isServiceError(error: unknown): error is ServiceErrorLike {
  if (typeof error !== "object" || error === null) {
    return false;
  }
  const e = error as Partial<ServiceErrorLike>;
  return typeof e.code === "number" && typeof e.details === "string" && e.metadata instanceof Metadata;
}
