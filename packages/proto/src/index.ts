// Public API of @loopline/proto: the adapter between protobuf-es service descriptors and
// @grpc/grpc-js. Generated messages and services are imported from the "./gen/*.js" subpath,
// e.g. `import { GRPCInferenceService } from "@loopline/proto/gen/inference/grpc_service_pb.js"`.

export { GrpcError } from "./grpc-error.js";
export type { GrpcErrorOptions } from "./grpc-error.js";
/** gRPC status codes (OK, CANCELLED, ..., UNAUTHENTICATED), re-exported from @grpc/grpc-js. */
export { status as GrpcStatus } from "@grpc/grpc-js";
/** Request/response metadata (headers and trailers), re-exported from @grpc/grpc-js. */
export { Metadata } from "@grpc/grpc-js";
export { STATUS_DETAILS_KEY, readStatusDetails, writeStatusDetails } from "./status-details.js";

export { createServiceDefinition, methodPath } from "./service-definition.js";
export { implementService } from "./service-impl.js";
export type {
  AnyMethodImpl,
  BidiStreamingImpl,
  ClientStreamingImpl,
  MaybePromise,
  MethodImpl,
  ServerStreamingImpl,
  ServiceBinding,
  ServiceImpl,
  UnaryImpl,
} from "./service-impl.js";
export type { HandlerContext } from "./handler-context.js";
export { INTERNAL_ERROR_MESSAGE, addService, createServiceImplementation } from "./server-handlers.js";
export type { HandlerOptions } from "./server-handlers.js";

export { createClient, RECONNECT_BACKOFF } from "./client.js";
export type { BidiCall, CallOptions, Client, ClientMethod, ClientOptions, ClientTlsOptions } from "./client.js";
export { DEFAULT_MAX_MESSAGE_BYTES } from "./message-limits.js";

export { createHealthService } from "./health.js";
export type { HealthService, HealthStatus } from "./health.js";
export { createReflectionService } from "./reflection.js";
export type { ReflectionOptions } from "./reflection.js";
export { DEFAULT_SHUTDOWN_GRACE_MS, createGrpcServer } from "./grpc-server.js";
export type { GrpcServer, GrpcServerOptions, ServerTlsOptions } from "./grpc-server.js";
export { fromFeatureValue, toFeatureValue } from "./feature-values.js";
export type { PlainValue } from "./feature-values.js";
export { decodeFeatureUpdate, encodeFeatureUpdate, scanFeatureUpdate, UnknownValueKeyError } from "./feature-update-codec.js";
export type { FeatureUpdateHeader, PlainFeatureUpdate, ValueKeyCheck } from "./feature-update-codec.js";
export { PROTOBUF_CONTENT_TYPE, isProtobufContentType, mediaType } from "./content-type.js";
export { decodeLabel, isLabelProblem, parseRecordTime } from "./labels.js";
export type { DecodedLabel, LabelProblem } from "./labels.js";
