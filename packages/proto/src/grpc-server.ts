import { Server, ServerCredentials, status as Status } from "@grpc/grpc-js";
import type { ServerOptions } from "@grpc/grpc-js";
import type { DescFile } from "@bufbuild/protobuf";
import { file_grpc_health_v1_health } from "./gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "./gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
import { GrpcError } from "./grpc-error.js";
import { createHealthService } from "./health.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./message-limits.js";
import { pem } from "./pem.js";
import type { HealthService, HealthStatus } from "./health.js";
import { createReflectionService } from "./reflection.js";
import { addService } from "./server-handlers.js";
import type { HandlerOptions } from "./server-handlers.js";
import type { ServiceBinding } from "./service-impl.js";

/** TLS settings of a server. Strings are file paths; Buffers are PEM contents. */
export interface ServerTlsOptions {
  /** Certificate chain. */
  readonly cert: string | Buffer;
  /** Private key. */
  readonly key: string | Buffer;
  /** CA that client certificates must chain to; set it to require mutual TLS. Default: none. */
  readonly clientCa?: string | Buffer;
}

/** Options of createGrpcServer(). */
export interface GrpcServerOptions extends HandlerOptions {
  /** The services to serve, each from implementService(). Default: none (health and reflection only). */
  readonly services?: readonly ServiceBinding[];
  /** Interface to listen on. Default: "0.0.0.0". */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one (see GrpcServer.port). Default: 0. */
  readonly port?: number;
  /** TLS certificate and key; without them the server speaks plaintext. Default: plaintext. */
  readonly tls?: ServerTlsOptions;
  /** Largest request message accepted, in bytes. Default: 16 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** Largest response message sent, in bytes. Default: 16 MiB. */
  readonly maxSendMessageBytes?: number;
  /** Serve grpc.reflection v1 and v1alpha for the registered services. Default: true. */
  readonly reflection?: boolean;
  /** Health status of "" and of every registered service once listening. Default: "SERVING". */
  readonly initialHealth?: HealthStatus;
  /** Further grpc-js server options (keepalive, ...). Default: none. */
  readonly serverOptions?: ServerOptions;
}

/** A listening gRPC server. */
export interface GrpcServer {
  /** The bound port (the real one when port 0 was asked for). */
  readonly port: number;
  /** "host:port" the server listens on. */
  readonly address: string;
  /** The underlying grpc-js server. */
  readonly server: Server;
  /** The grpc.health.v1 service: flip statuses as dependencies come and go. */
  readonly health: HealthService;
  /**
   * Stops the server: marks health NOT_SERVING, ends Watch streams, refuses new calls, waits up to
   * `graceMs` (default 10 000) for calls in flight, then cuts the rest. Safe to call twice.
   */
  close(graceMs?: number): Promise<void>;
}

/** Default grace period of GrpcServer.close(). */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/**
 * Builds a grpc-js server with the given services plus grpc.health.v1 and server reflection,
 * binds it, and marks it serving. Handler errors other than GrpcError are answered INTERNAL with
 * a generic message and passed to `onError`.
 */
export async function createGrpcServer(options: GrpcServerOptions = {}): Promise<GrpcServer> {
  const server = new Server({
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    ...options.serverOptions,
  });
  const handlerOptions: HandlerOptions = options.onError === undefined ? {} : { onError: options.onError };
  const services = options.services ?? [];
  const health = createHealthService();
  for (const binding of services) {
    addService(server, binding, handlerOptions);
  }
  addService(server, health.binding, handlerOptions);
  if (options.reflection ?? true) {
    const files: DescFile[] = [
      ...services.map((binding) => binding.service.file),
      file_grpc_health_v1_health,
      file_grpc_reflection_v1_reflection,
      file_grpc_reflection_v1alpha_reflection,
    ];
    const names = [
      ...services.map((binding) => binding.service.typeName),
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ];
    for (const binding of createReflectionService(files, { services: names })) {
      addService(server, binding, handlerOptions);
    }
  }

  const host = options.host ?? "0.0.0.0";
  const port = await bind(server, `${formatHost(host)}:${String(options.port ?? 0)}`, serverCredentials(options.tls));

  const initial = options.initialHealth ?? "SERVING";
  health.setStatus("", initial);
  for (const binding of services) {
    health.setStatus(binding.service.typeName, initial);
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    address: `${formatHost(host)}:${String(port)}`,
    server,
    health,
    close(graceMs = DEFAULT_SHUTDOWN_GRACE_MS) {
      closing ??= shutdown(server, health, graceMs);
      return closing;
    },
  };
}

/** Binds the server; on failure releases it and throws UNAVAILABLE naming the address. */
function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => {
      if (error === null) {
        resolve(port);
        return;
      }
      server.forceShutdown();
      reject(new GrpcError(Status.UNAVAILABLE, `cannot listen on ${address}: ${error.message}`, { cause: error }));
    });
  });
}

function shutdown(server: Server, health: HealthService, graceMs: number): Promise<void> {
  health.shutdown();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function serverCredentials(tls: ServerTlsOptions | undefined): ServerCredentials {
  if (tls === undefined) {
    return ServerCredentials.createInsecure();
  }
  const clientCa = tls.clientCa === undefined ? null : pem(tls.clientCa);
  return ServerCredentials.createSsl(clientCa, [{ cert_chain: pem(tls.cert), private_key: pem(tls.key) }], clientCa !== null);
}

/** IPv6 literals need brackets in "host:port". */
function formatHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
