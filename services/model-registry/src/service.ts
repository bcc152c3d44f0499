import { createKafka, createMetrics, type KafkaKit, type Logger, type Metrics } from "@loopline/kit";
import { createGrpcServer, type GrpcServer } from "@loopline/proto";
import { createLocalArtifactStore, type ArtifactStore } from "./artifact-store.js";
import type { RegistryConfig } from "./config.js";
import { createKafkaEventLog } from "./event-log.js";
import { createRegistryBinding } from "./grpc-service.js";
import { createRegistry, type Registry } from "./registry.js";

/** What a caller may supply instead of what the config would build. */
export interface RegistryServiceDeps {
  logger: Logger;
  /** Default: a fresh registry for service "model-registry". */
  metrics?: Metrics;
  /** Default: the local folder of config.artifactDir. */
  store?: ArtifactStore;
  /** Clock in epoch ms. Default Date.now. */
  now?: () => number;
}

/** The model-registry service: the registry, its event log on Kafka, and the gRPC server. */
export interface RegistryService {
  /** Replays loopline.models, then listens; resolves once serving. */
  start(): Promise<void>;
  /** True while the state is complete and the server is listening. */
  isReady(): boolean;
  /** The bound gRPC port (after start; the real one when the config asked for 0). */
  readonly grpcPort: number;
  /** The registry itself (in-process callers and tests). */
  readonly registry: Registry;
  readonly kafka: KafkaKit;
  readonly metrics: Metrics;
  /** Stops the server (draining calls within graceMs), then the log and the Kafka clients. */
  close(graceMs?: number): Promise<void>;
}

/** Builds the service from its typed configuration; nothing connects until start(). */
export function createRegistryService(config: RegistryConfig, deps: RegistryServiceDeps): RegistryService {
  const logger = deps.logger;
  const metrics = deps.metrics ?? createMetrics({ service: "model-registry" });
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: "loopline-model-registry", logger });
  const log = createKafkaEventLog({ kafka, topicPrefix: config.topicPrefix, logger, metrics, replayTimeoutMs: config.replayTimeoutMs });
  const registry = createRegistry({
    log,
    store: deps.store ?? createLocalArtifactStore(config.artifactDir),
    logger,
    metrics,
    ...(deps.now !== undefined ? { now: deps.now } : {}),
  });
  let server: GrpcServer | undefined;

  return {
    async start() {
      // Serve only a complete state: the port opens after the topic was read to its end.
      await registry.start();
      server = await createGrpcServer({
        host: config.grpcHost,
        port: config.grpcPort,
        services: [createRegistryBinding({ registry, token: config.token, maxArtifactBytes: config.maxArtifactBytes })],
        ...(config.tlsCert !== "" ? { tls: { cert: config.tlsCert, key: config.tlsKey } } : {}),
        onError: (err, ctx) => logger.error("handler failed", { err, method: ctx.method.name }),
      });
      logger.info("model registry listening", { port: server.port, tls: config.tlsCert !== "", auth: config.token !== "", artifactDir: config.artifactDir, topic: log.topic });
    },
    isReady: () => registry.isReady() && server !== undefined,
    get grpcPort() {
      if (server === undefined) throw new Error("the registry service is not started");
      return server.port;
    },
    registry,
    kafka,
    metrics,
    async close(graceMs = 10_000) {
      await server?.close(graceMs);
      await registry.close();
      await kafka.close();
    },
  };
}
