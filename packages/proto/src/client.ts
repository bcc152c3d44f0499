import { once } from "node:events";
import { create } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, DescService, Message, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Client as GrpcClient, Metadata, credentials, status as Status } from "@grpc/grpc-js";
import type {
  CallOptions as GrpcCallOptions,
  ChannelCredentials,
  ChannelOptions,
  ClientWritableStream,
  ServiceError,
  StatusObject,
} from "@grpc/grpc-js";
import { GrpcError } from "./grpc-error.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./message-limits.js";
import { MessageQueue } from "./message-queue.js";
import { pem } from "./pem.js";
import { createServiceDefinition, methodPath } from "./service-definition.js";

/** Per-call options of a client method. */
export interface CallOptions {
  /** Give up after this many milliseconds (DEADLINE_EXCEEDED). Default: the client's timeoutMs. */
  readonly timeoutMs?: number;
  /** Give up at this time; wins over timeoutMs. Default: none. */
  readonly deadline?: Date;
  /** Cancels the call when aborted; the call then fails with CANCELLED. Default: none. */
  readonly signal?: AbortSignal;
  /** Request metadata: a grpc-js Metadata or a record (`-bin` keys take Buffers). Default: none. */
  readonly metadata?: Metadata | Readonly<Record<string, string | Buffer | readonly (string | Buffer)[]>>;
  /** Receives the response headers. Default: ignored. */
  readonly onHeader?: (header: Metadata) => void;
  /** Receives the response trailers, on success and on failure. Default: ignored. */
  readonly onTrailer?: (trailer: Metadata) => void;
}

/** A bidirectional call in progress. */
export interface BidiCall<I extends DescMessage, O extends DescMessage> {
  /** Sends one request; resolves once the transport can take more (backpressure). */
  send(request: MessageInitShape<I>): Promise<void>;
  /** Half-closes the call: no more requests; responses keep arriving. */
  end(): void;
  /** Cancels the call; the responses then fail with CANCELLED. */
  cancel(): void;
  /** The responses, ending when the server finishes; fails with a GrpcError on a non-OK status. */
  readonly responses: AsyncIterable<MessageShape<O>>;
}

/** The client method that matches a method's kind and message types. */
export type ClientMethod<M extends DescMethod> = M extends {
  methodKind: "unary";
  input: infer I extends DescMessage;
  output: infer O extends DescMessage;
}
  ? (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>
  : M extends { methodKind: "server_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? (request: MessageInitShape<I>, options?: CallOptions) => AsyncIterable<MessageShape<O>>
    : M extends { methodKind: "client_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
      ? (
          requests: AsyncIterable<MessageInitShape<I>> | Iterable<MessageInitShape<I>>,
          options?: CallOptions,
        ) => Promise<MessageShape<O>>
      : M extends { methodKind: "bidi_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
        ? (options?: CallOptions) => BidiCall<I, O>
        : never;

/** A typed client: one method per RPC (by local, camel-case name) plus close(). */
export type Client<S extends DescService> = {
  readonly [K in keyof S["method"]]: S["method"][K] extends DescMethod ? ClientMethod<S["method"][K]> : never;
} & {
  /** Closes the channel; calls in flight fail with UNAVAILABLE or CANCELLED. */
  close(): void;
};

/** TLS settings of a client channel. Strings are file paths; Buffers are PEM contents. */
export interface ClientTlsOptions {
  /** Root certificates to trust. Default: the system's roots. */
  readonly ca?: string | Buffer;
  /** Client certificate chain, for mutual TLS. Default: none. */
  readonly cert?: string | Buffer;
  /** Client private key, for mutual TLS. Default: none. */
  readonly key?: string | Buffer;
}

/** Options of createClient(). */
export interface ClientOptions {
  /** TLS settings; when absent the channel is plaintext (insecure). Default: plaintext. */
  readonly tls?: ClientTlsOptions;
  /** Default timeout of every call in milliseconds; a call's own options win. Default: none. */
  readonly timeoutMs?: number;
  /** Largest response message accepted, in bytes. Default: 16 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** Largest request message sent, in bytes. Default: 16 MiB. */
  readonly maxSendMessageBytes?: number;
  /** Further grpc-js channel options (keepalive, load balancing, ...). Default: none. */
  readonly channelOptions?: ChannelOptions;
}

/**
 * Reconnect waits of Loopline's gRPC clients. grpc-js lets them grow to 120 s while a server stays
 * down, so a caller went on failing (UNAVAILABLE) for up to two minutes after its server was back
 * (34 s after a 150 s outage, measured); capped at 5 s it reconnects within seconds.
 */
export const RECONNECT_BACKOFF = {
  "grpc.initial_reconnect_backoff_ms": 500,
  "grpc.max_reconnect_backoff_ms": 5_000,
} as const;

/**
 * A typed client for a protobuf-es service at `address` ("host:port"). Unary methods return
 * promises, server-streaming methods async iterables, client-streaming methods take an iterable
 * of requests, bidi methods return a BidiCall. Every failure is a GrpcError with the status code.
 */
export function createClient<S extends DescService>(service: S, address: string, options: ClientOptions = {}): Client<S> {
  const channel = new GrpcClient(address, channelCredentials(options.tls), {
    ...RECONNECT_BACKOFF,
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    ...options.channelOptions,
  });
  const definition = createServiceDefinition(service);
  const client: Record<string, unknown> = {
    close: () => channel.close(),
  };
  for (const method of service.methods) {
    const methodDefinition = definition[method.name];
    if (methodDefinition === undefined) {
      continue;
    }
    const call: CallSetup = {
      channel,
      method,
      path: methodPath(method),
      serialize: methodDefinition.requestSerialize as (value: Message) => Buffer,
      deserialize: methodDefinition.responseDeserialize as (bytes: Buffer) => Message,
      defaultTimeoutMs: options.timeoutMs,
    };
    client[method.localName] = clientMethod(call);
  }
  return client as Client<S>;
}

interface CallSetup {
  readonly channel: GrpcClient;
  readonly method: DescMethod;
  readonly path: string;
  readonly serialize: (value: Message) => Buffer;
  readonly deserialize: (bytes: Buffer) => Message;
  readonly defaultTimeoutMs: number | undefined;
}

function clientMethod(setup: CallSetup): unknown {
  switch (setup.method.methodKind) {
    case "unary":
      return (request: Record<string, unknown>, options: CallOptions = {}) => unaryCall(setup, request, options);
    case "server_streaming":
      return (request: Record<string, unknown>, options: CallOptions = {}) => serverStreamingCall(setup, request, options);
    case "client_streaming":
      return (requests: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>, options: CallOptions = {}) =>
        clientStreamingCall(setup, requests, options);
    case "bidi_streaming":
      return (options: CallOptions = {}) => bidiCall(setup, options);
  }
}

function unaryCall(setup: CallSetup, request: Record<string, unknown>, options: CallOptions): Promise<Message> {
  return new Promise((resolve, reject) => {
    const aborted = abortedError(options.signal);
    if (aborted !== undefined) {
      reject(aborted);
      return;
    }
    const message = create(setup.method.input, request);
    const call = setup.channel.makeUnaryRequest(
      setup.path,
      setup.serialize,
      setup.deserialize,
      message,
      requestMetadata(options.metadata),
      grpcCallOptions(setup, options),
      (error: ServiceError | null, response?: Message) => {
        detach();
        if (error !== null) {
          reject(toClientError(error, options.signal));
        } else if (response === undefined) {
          reject(new GrpcError(Status.INTERNAL, "the server sent no response message"));
        } else {
          resolve(response);
        }
      },
    );
    watchMetadata(call, options);
    const detach = cancelOnAbort(options.signal, () => call.cancel());
  });
}

async function* serverStreamingCall(
  setup: CallSetup,
  request: Record<string, unknown>,
  options: CallOptions,
): AsyncGenerator<Message, void, undefined> {
  const aborted = abortedError(options.signal);
  if (aborted !== undefined) {
    throw aborted;
  }
  const call = setup.channel.makeServerStreamRequest(
    setup.path,
    setup.serialize,
    setup.deserialize,
    create(setup.method.input, request),
    requestMetadata(options.metadata),
    grpcCallOptions(setup, options),
  );
  const responses = readResponses(call, options, () => call.cancel());
  const detach = cancelOnAbort(options.signal, () => call.cancel());
  try {
    yield* responses;
  } finally {
    detach();
  }
}

async function clientStreamingCall(
  setup: CallSetup,
  requests: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>,
  options: CallOptions,
): Promise<Message> {
  const aborted = abortedError(options.signal);
  if (aborted !== undefined) {
    throw aborted;
  }
  let settled = false;
  let detach = (): void => {};
  let call: ClientWritableStream<Message> | undefined;
  const response = new Promise<Message>((resolve, reject) => {
    call = setup.channel.makeClientStreamRequest(
      setup.path,
      setup.serialize,
      setup.deserialize,
      requestMetadata(options.metadata),
      grpcCallOptions(setup, options),
      (error: ServiceError | null, value?: Message) => {
        settled = true;
        detach();
        if (error !== null) {
          reject(toClientError(error, options.signal));
        } else if (value === undefined) {
          reject(new GrpcError(Status.INTERNAL, "the server sent no response message"));
        } else {
          resolve(value);
        }
      },
    );
  });
  const stream = call as ClientWritableStream<Message>;
  watchMetadata(stream, options);
  detach = cancelOnAbort(options.signal, () => stream.cancel());
  const finished = response.then(
    () => undefined,
    () => undefined,
  );
  let sourceFailure: { readonly error: unknown } | undefined;
  const pump = async (): Promise<void> => {
    for await (const request of requests) {
      if (settled) {
        return;
      }
      if (!stream.write(create(setup.method.input, request))) {
        await Promise.race([once(stream, "drain"), finished]);
      }
    }
    if (!settled) {
      stream.end();
    }
  };
  void pump().catch((error: unknown) => {
    // The request source failed: abandon the call and report the source's own error.
    sourceFailure = { error };
    stream.cancel();
  });
  try {
    return await response;
  } catch (error) {
    throw sourceFailure === undefined ? error : sourceFailure.error;
  }
}

function bidiCall(setup: CallSetup, options: CallOptions): BidiCall<DescMessage, DescMessage> {
  const aborted = abortedError(options.signal);
  const call = setup.channel.makeBidiStreamRequest(
    setup.path,
    setup.serialize,
    setup.deserialize,
    requestMetadata(options.metadata),
    grpcCallOptions(setup, options),
  );
  let finished: GrpcError | null | undefined; // undefined: running; null: ended OK
  const done = new Promise<void>((resolve) => call.once("status", () => resolve()));
  const responses = readResponses(call, options, () => call.cancel(), (error) => {
    finished = error;
  });
  const detach = cancelOnAbort(options.signal, () => call.cancel());
  void done.then(detach);
  if (aborted !== undefined) {
    call.cancel();
  }
  let ended = false;
  return {
    async send(request) {
      if (finished !== undefined) {
        throw finished ?? new GrpcError(Status.FAILED_PRECONDITION, "send() after the call finished");
      }
      if (ended) {
        throw new GrpcError(Status.FAILED_PRECONDITION, "send() after end()");
      }
      if (!call.write(create(setup.method.input, request))) {
        await Promise.race([once(call, "drain"), done]);
      }
    },
    end() {
      if (!ended) {
        ended = true;
        call.end();
      }
    },
    cancel() {
      call.cancel();
    },
    responses: responses as AsyncIterable<never>,
  };
}

/** What readResponses needs of a grpc-js client stream. */
interface ResponseSource {
  on(event: "data", listener: (message: Message) => void): unknown;
  on(event: "error", listener: (error: ServiceError) => void): unknown;
  on(event: "status", listener: (status: StatusObject) => void): unknown;
  on(event: "metadata", listener: (metadata: Metadata) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/**
 * Turns a grpc-js response stream into an async iterable. The call's status is what ends it (OK
 * ends, anything else fails), not the stream's "end", which grpc-js emits even before errors.
 */
function readResponses(
  call: ResponseSource,
  options: CallOptions,
  cancel: () => void,
  onFinish?: (error: GrpcError | null) => void,
): MessageQueue<Message> {
  const queue = new MessageQueue<Message>({
    onFull: () => call.pause(),
    onDrained: () => call.resume(),
    onAbandon: cancel, // The consumer stopped early: the server need not keep sending.
  });
  call.on("data", (message) => queue.push(message));
  call.on("error", (error) => {
    const failure = toClientError(error, options.signal);
    onFinish?.(failure);
    queue.fail(failure);
  });
  call.on("status", (status) => {
    if (status.code === Status.OK) {
      onFinish?.(null);
      queue.close();
    }
  });
  watchMetadata(call, options);
  return queue;
}

function watchMetadata(
  call: {
    on(event: "metadata", listener: (metadata: Metadata) => void): unknown;
    on(event: "status", listener: (status: StatusObject) => void): unknown;
  },
  options: CallOptions,
): void {
  const { onHeader, onTrailer } = options;
  if (onHeader !== undefined) {
    call.on("metadata", (metadata) => onHeader(metadata));
  }
  if (onTrailer !== undefined) {
    call.on("status", (status) => onTrailer(status.metadata));
  }
}

function grpcCallOptions(setup: CallSetup, options: CallOptions): GrpcCallOptions {
  const timeoutMs = options.timeoutMs ?? setup.defaultTimeoutMs;
  const deadline = options.deadline ?? (timeoutMs === undefined ? undefined : new Date(Date.now() + timeoutMs));
  return deadline === undefined ? {} : { deadline };
}

function requestMetadata(input: CallOptions["metadata"]): Metadata {
  if (input instanceof Metadata) {
    return input;
  }
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(input ?? {})) {
    const values: readonly (string | Buffer)[] = Array.isArray(value) ? value : [value as string | Buffer];
    for (const item of values) {
      metadata.add(key, item);
    }
  }
  return metadata;
}

function abortedError(signal: AbortSignal | undefined): GrpcError | undefined {
  if (signal?.aborted !== true) {
    return undefined;
  }
  return new GrpcError(Status.CANCELLED, "call cancelled by the caller", { cause: signal.reason });
}

function cancelOnAbort(signal: AbortSignal | undefined, cancel: () => void): () => void {
  if (signal === undefined) {
    return () => {};
  }
  signal.addEventListener("abort", cancel, { once: true });
  return () => signal.removeEventListener("abort", cancel);
}

function toClientError(error: ServiceError, signal: AbortSignal | undefined): GrpcError {
  if (error.code === Status.CANCELLED && signal?.aborted === true) {
    return new GrpcError(Status.CANCELLED, "call cancelled by the caller", { cause: signal.reason });
  }
  return GrpcError.from(error);
}

function channelCredentials(tls: ClientTlsOptions | undefined): ChannelCredentials {
  if (tls === undefined) {
    return credentials.createInsecure();
  }
  return credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}
