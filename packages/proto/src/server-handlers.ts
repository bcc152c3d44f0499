import { once } from "node:events";
import { create } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, Message } from "@bufbuild/protobuf";
import { status as Status } from "@grpc/grpc-js";
import type {
  Server,
  ServerDuplexStream,
  ServerReadableStream,
  StatusObject,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedHandleCall,
  UntypedServiceImplementation,
  sendUnaryData,
} from "@grpc/grpc-js";
import { createCallState } from "./handler-context.js";
import type { CallState, HandlerContext } from "./handler-context.js";
import { GrpcError } from "./grpc-error.js";
import { MessageQueue } from "./message-queue.js";
import { createServiceDefinition } from "./service-definition.js";
import type {
  BidiStreamingImpl,
  ClientStreamingImpl,
  ServerStreamingImpl,
  ServiceBinding,
  UnaryImpl,
} from "./service-impl.js";
import { writeStatusDetails } from "./status-details.js";

/** How handlers report failures. */
export interface HandlerOptions {
  /**
   * Called with every error a handler throws that is not a GrpcError, before the client is
   * answered INTERNAL with a generic message; the place to log it. Default: errors are dropped.
   */
  readonly onError?: (error: unknown, context: HandlerContext) => void;
}

/** The message clients see for an unexpected handler failure; the real error is never sent. */
export const INTERNAL_ERROR_MESSAGE = "internal error";

/** Serves a bound service on a grpc-js server. */
export function addService(server: Server, binding: ServiceBinding, options: HandlerOptions = {}): void {
  server.addService(createServiceDefinition(binding.service), createServiceImplementation(binding, options));
}

/**
 * The grpc-js implementation object for a bound service: each protobuf-es style handler wrapped
 * into the callback/stream form grpc-js calls. Methods without a handler are left out, and grpc-js
 * answers them UNIMPLEMENTED.
 */
export function createServiceImplementation(
  binding: ServiceBinding,
  options: HandlerOptions = {},
): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const method of binding.service.methods) {
    const handler = binding.implementation[method.localName];
    if (handler === undefined) {
      continue;
    }
    implementation[method.name] = wrapHandler(method, handler, options);
  }
  return implementation;
}

function wrapHandler(method: DescMethod, handler: unknown, options: HandlerOptions): UntypedHandleCall {
  switch (method.methodKind) {
    case "unary":
      return wrapUnary(method, handler as UnaryImpl<DescMessage, DescMessage>, options);
    case "server_streaming":
      return wrapServerStreaming(method, handler as ServerStreamingImpl<DescMessage, DescMessage>, options);
    case "client_streaming":
      return wrapClientStreaming(method, handler as ClientStreamingImpl<DescMessage, DescMessage>, options);
    case "bidi_streaming":
      return wrapBidiStreaming(method, handler as BidiStreamingImpl<DescMessage, DescMessage>, options);
  }
}

function wrapUnary(
  method: DescMethod,
  handler: UnaryImpl<DescMessage, DescMessage>,
  options: HandlerOptions,
): UntypedHandleCall {
  return (call: ServerUnaryCall<Message, Message>, callback: sendUnaryData<Message>) => {
    const state = createCallState(call, method);
    void (async () => {
      try {
        const response = create(method.output, await handler(call.request, state.context));
        answer(state, () => callback(null, response, state.context.responseTrailer));
      } catch (error) {
        fail(state, error, options, (status) => callback(status));
      }
    })();
  };
}

function wrapClientStreaming(
  method: DescMethod,
  handler: ClientStreamingImpl<DescMessage, DescMessage>,
  options: HandlerOptions,
): UntypedHandleCall {
  return (call: ServerReadableStream<Message, Message>, callback: sendUnaryData<Message>) => {
    const state = createCallState(call, method);
    void (async () => {
      try {
        const requests = readRequests(call, state.context.signal);
        const response = create(method.output, await handler(requests, state.context));
        answer(state, () => callback(null, response, state.context.responseTrailer));
      } catch (error) {
        fail(state, error, options, (status) => callback(status));
      }
    })();
  };
}

type ResponseStream = ServerWritableStream<Message, Message> | ServerDuplexStream<Message, Message>;

function wrapServerStreaming(
  method: DescMethod,
  handler: ServerStreamingImpl<DescMessage, DescMessage>,
  options: HandlerOptions,
): UntypedHandleCall {
  return (call: ServerWritableStream<Message, Message>) => {
    const state = createCallState(call, method);
    void sendAll(call, state, method, () => handler(call.request, state.context), options);
  };
}

function wrapBidiStreaming(
  method: DescMethod,
  handler: BidiStreamingImpl<DescMessage, DescMessage>,
  options: HandlerOptions,
): UntypedHandleCall {
  return (call: ServerDuplexStream<Message, Message>) => {
    const state = createCallState(call, method);
    const requests = readRequests(call, state.context.signal);
    void sendAll(call, state, method, () => handler(requests, state.context), options);
  };
}

/** Writes every response the handler yields (respecting backpressure), then the status. Never rejects. */
async function sendAll(
  call: ResponseStream,
  state: CallState,
  method: DescMethod,
  responses: () => AsyncIterable<Record<string, unknown>>,
  options: HandlerOptions,
): Promise<void> {
  const { signal } = state.context;
  try {
    for await (const response of responses()) {
      if (signal.aborted) {
        break;
      }
      const message = create(method.output, response);
      state.flushHeader();
      if (!call.write(message)) {
        await once(call, "drain", { signal });
      }
    }
    answer(state, () => call.end(state.context.responseTrailer));
  } catch (error) {
    // grpc-js turns an "error" event on a response stream into the call's status.
    fail(state, error, options, (status) => call.emit("error", status));
  }
}

/** Feeds a grpc-js request stream into an async iterable that ends when the client half-closes. */
function readRequests(
  call: ServerReadableStream<Message, Message> | ServerDuplexStream<Message, Message>,
  signal: AbortSignal,
): AsyncIterable<Message> {
  const queue = new MessageQueue<Message>({
    onFull: () => call.pause(),
    onDrained: () => call.resume(),
    // The handler stopped reading: keep the stream flowing so unread requests are dropped.
    onAbandon: () => call.resume(),
  });
  call.on("data", (message: Message) => queue.push(message));
  call.once("end", () => queue.close());
  call.once("error", (error: unknown) => queue.fail(error));
  // grpc-js never ends the request stream of a cancelled call, so a reader would wait forever.
  signal.addEventListener("abort", () => queue.fail(signal.reason), { once: true });
  return queue;
}

function answer(state: CallState, send: () => void): void {
  state.finish();
  if (state.context.signal.aborted) {
    return; // grpc-js already ended the call (cancelled or deadline exceeded).
  }
  state.flushHeader();
  send();
}

function fail(
  state: CallState,
  error: unknown,
  options: HandlerOptions,
  send: (status: Partial<StatusObject> & { message: string }) => void,
): void {
  state.finish();
  if (state.context.signal.aborted) {
    return; // The client is gone; a failure caused by the abort is expected, not a bug.
  }
  if (Object.keys(state.context.responseHeader.getMap()).length > 0) {
    state.flushHeader(); // Headers the handler set before failing still reach the client.
  }
  const trailer = state.context.responseTrailer;
  if (error instanceof GrpcError) {
    trailer.merge(error.metadata);
    writeStatusDetails(trailer, error.code, error.message, error.details);
    send({ code: error.code, details: error.message, message: error.message, metadata: trailer });
    return;
  }
  try {
    options.onError?.(error, state.context);
  } catch {
    // A failing log hook must not keep the client from its answer.
  }
  send({ code: Status.INTERNAL, details: INTERNAL_ERROR_MESSAGE, message: INTERNAL_ERROR_MESSAGE, metadata: trailer });
}
