import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "./handler-context.js";

/** Something a handler may return: a value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/** A unary handler: one request in, one response (message or plain init object) out. */
export type UnaryImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: HandlerContext,
) => MaybePromise<MessageInitShape<O>>;

/** A server-streaming handler: one request in, responses yielded by an async generator. */
export type ServerStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: HandlerContext,
) => AsyncIterable<MessageInitShape<O>>;

/** A client-streaming handler: an async iterable of requests in, one response out. */
export type ClientStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: HandlerContext,
) => MaybePromise<MessageInitShape<O>>;

/** A bidirectional-streaming handler: an async iterable of requests in, responses yielded out. */
export type BidiStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: HandlerContext,
) => AsyncIterable<MessageInitShape<O>>;

/** The handler type that matches a method's kind and message types. */
export type MethodImpl<M extends DescMethod> = M extends {
  methodKind: "unary";
  input: infer I extends DescMessage;
  output: infer O extends DescMessage;
}
  ? UnaryImpl<I, O>
  : M extends { methodKind: "server_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? ServerStreamingImpl<I, O>
    : M extends { methodKind: "client_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
      ? ClientStreamingImpl<I, O>
      : M extends { methodKind: "bidi_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
        ? BidiStreamingImpl<I, O>
        : AnyMethodImpl;

/** Any handler, for services described only at runtime. */
export type AnyMethodImpl =
  | UnaryImpl<DescMessage, DescMessage>
  | ServerStreamingImpl<DescMessage, DescMessage>
  | ClientStreamingImpl<DescMessage, DescMessage>
  | BidiStreamingImpl<DescMessage, DescMessage>;

/** Handlers for a service, keyed by the methods' local (camel-case) names as protoc-gen-es emits them. */
export type ServiceImpl<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends DescMethod ? MethodImpl<S["method"][K]> : never;
};

/**
 * A service descriptor paired with its handlers, ready to be served by createGrpcServer() or
 * addService(). Methods without a handler answer UNIMPLEMENTED.
 */
export interface ServiceBinding {
  /** The service descriptor (a protoc-gen-es GenService). */
  readonly service: DescService;
  /** Handlers by method local name. */
  readonly implementation: Readonly<Record<string, AnyMethodImpl | undefined>>;
}

/**
 * Pairs a service with its handlers, type-checking every handler against its method. Methods
 * left out answer UNIMPLEMENTED (useful for optional protocol extensions).
 */
export function implementService<S extends DescService>(
  service: S,
  implementation: Partial<ServiceImpl<S>>,
): ServiceBinding {
  return { service, implementation: implementation as Record<string, AnyMethodImpl | undefined> };
}
