import { Metadata, status as Status } from "@grpc/grpc-js";
import type { DescMethod } from "@bufbuild/protobuf";
import { GrpcError } from "./grpc-error.js";

/** What a server handler knows about the call it is answering. */
export interface HandlerContext {
  /** The method being called. */
  readonly method: DescMethod;
  /** The request metadata (headers) the client sent. */
  readonly metadata: Metadata;
  /** The client's address, e.g. "127.0.0.1:51234". */
  readonly peer: string;
  /** When the client stops waiting; undefined when it set no deadline. */
  readonly deadline: Date | undefined;
  /**
   * Fires when the call ends before the handler answered: the client cancelled, the deadline
   * passed, or the connection dropped. Its reason is a GrpcError (CANCELLED or DEADLINE_EXCEEDED).
   * Pass it on to downstream I/O so abandoned work stops.
   */
  readonly signal: AbortSignal;
  /** Response headers, sent before the first response message (or with the status). */
  readonly responseHeader: Metadata;
  /** Response trailers, sent with the final status. */
  readonly responseTrailer: Metadata;
}

/**
 * A client cancellation (RST_STREAM) can reach the server a moment before the server's own timer
 * for the same deadline fires; within this slack the abort is reported as DEADLINE_EXCEEDED.
 */
const DEADLINE_SLACK_MS = 100;

/** A HandlerContext plus the hooks the adapter needs while the call runs. Internal. */
export interface CallState {
  readonly context: HandlerContext;
  /** Marks the call answered: later cancellation events no longer abort the signal. */
  finish(): void;
  /** Sends the response headers once (before the first message or the status). */
  flushHeader(): void;
}

/** The parts every grpc-js server call shares (grpc-js does not export the type itself). */
interface SurfaceCall {
  readonly metadata: Metadata;
  getPeer(): string;
  getDeadline(): Date | number;
  sendMetadata(metadata: Metadata): void;
  once(event: "cancelled", listener: () => void): unknown;
}

/** Builds the context for a grpc-js server call and wires its cancellation to an AbortSignal. */
export function createCallState(call: SurfaceCall, method: DescMethod): CallState {
  const controller = new AbortController();
  const rawDeadline = call.getDeadline();
  const deadlineMs = rawDeadline instanceof Date ? rawDeadline.getTime() : rawDeadline;
  const deadline = Number.isFinite(deadlineMs) ? new Date(deadlineMs) : undefined;
  const responseHeader = new Metadata();
  let answered = false;
  let headerSent = false;
  // grpc-js emits "cancelled" after every call, including ones answered normally; only an
  // unanswered call counts as aborted.
  call.once("cancelled", () => {
    if (answered) {
      return;
    }
    const expired = deadline !== undefined && Date.now() >= deadline.getTime() - DEADLINE_SLACK_MS;
    controller.abort(
      expired
        ? new GrpcError(Status.DEADLINE_EXCEEDED, "deadline exceeded")
        : new GrpcError(Status.CANCELLED, "call cancelled by the client"),
    );
  });
  return {
    context: {
      method,
      metadata: call.metadata,
      peer: call.getPeer(),
      deadline,
      signal: controller.signal,
      responseHeader,
      responseTrailer: new Metadata(),
    },
    finish() {
      answered = true;
    },
    flushHeader() {
      if (!headerSent) {
        headerSent = true;
        call.sendMetadata(responseHeader);
      }
    },
  };
}
