import { builtinRegistry, type FeatureRegistry } from "@loopline/features";
import {
  connectRedis,
  createAdminServer,
  createKafka,
  createRedis,
  dlqTopic,
  pingRedis,
  topicName,
  topicSpecs,
  type AdminServer,
  type KafkaProducer,
  type Logger,
  type Metrics,
} from "@loopline/kit";
import { createGrpcServer, type GrpcServer } from "@loopline/proto";
import type { FeatureStoreConfig } from "./config.js";
import { createFeatureStoreGrpc } from "./grpc-service.js";
import { createMaterializer } from "./materializer.js";
import { createRedisFeatureStore } from "./redis-store.js";

/** Dependencies a caller may supply (tests pass their own registry or clock). */
export interface FeatureStoreDeps {
  logger: Logger;
  metrics: Metrics;
  /** Feature views and sets. Default: the built-in registry of @loopline/features. */
  registry?: FeatureRegistry;
  now?: () => number;
}

/** A built feature-store: start it, read its ports, close it. */
export interface FeatureStoreService {
  start(): Promise<void>;
  /** Stops intake (gRPC then the consumer), drains, closes clients in reverse order. */
  close(): Promise<void>;
  readonly grpcPort: number;
  readonly adminPort: number;
}

/** Builds feature-store from its config; nothing reads process.env here. */
export function createFeatureStoreService(config: FeatureStoreConfig, deps: FeatureStoreDeps): FeatureStoreService {
  const { logger, metrics } = deps;
  const registry = deps.registry ?? builtinRegistry;
  const prefix = config.redisKeyPrefix === "" ? {} : { keyPrefix: config.redisKeyPrefix };
  const reader = createRedis({ url: config.redisUrl, logger, mode: "request", commandTimeoutMs: config.redisTimeoutMs, connectionName: "feature-store-read", ...prefix });
  const writer = createRedis({ url: config.redisUrl, logger, mode: "background", connectionName: "feature-store-write", ...prefix });
  const store = createRedisFeatureStore({ reader, writer, historyLength: config.historyLength, metrics });
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: "feature-store", logger });
  const topic = topicName(config.topicPrefix, "features");
  let producer: KafkaProducer | undefined;
  let grpc: GrpcServer | undefined;
  let admin: AdminServer | undefined;
  let materializer: ReturnType<typeof createMaterializer> | undefined;

  return {
    get grpcPort() {
      return grpc?.port ?? 0;
    },
    get adminPort() {
      return admin?.port ?? 0;
    },
    start: async () => {
      admin = await createAdminServer({
        port: config.adminPort,
        host: config.adminHost,
        metrics,
        logger,
        readiness: [
          { name: "redis", check: () => pingRedis(reader) },
          { name: "kafka", check: () => kafka.ping() },
        ],
      });
      await connectRedis(reader).catch((err: unknown) => logger.warn("redis not reachable at start; reads answer UNAVAILABLE until it is", { err }));
      await kafka.waitUntilReachable();
      await kafka.ensureTopics(topicSpecs(config.topicPrefix, [topic, dlqTopic(topic)]));
      producer = await kafka.createProducer();
      grpc = await createGrpcServer({
        host: config.grpcHost,
        port: config.grpcPort,
        services: [createFeatureStoreGrpc({ store, registry, maxEntities: config.maxEntities, expiryGraceMs: config.expiryGraceMs, metrics, logger, ...(deps.now ? { now: deps.now } : {}) })],
        onError: (err, ctx) => logger.error("grpc handler failed", { err, method: ctx.method.name }),
      });
      materializer = createMaterializer({
        kafka,
        topic,
        groupId: config.consumerGroup,
        concurrency: config.concurrency,
        store,
        registry,
        producer,
        expiryGraceMs: config.expiryGraceMs,
        metrics,
        logger,
        ...(deps.now ? { now: deps.now } : {}),
      });
      await materializer.start();
      logger.info("feature-store started", { grpcPort: grpc.port, adminPort: admin.port, topic, views: registry.views.map((v) => v.name) });
    },
    close: async () => {
      admin?.setDraining();
      await grpc?.close(config.shutdownGraceMs);
      await materializer?.close();
      await producer?.close();
      await kafka.close();
      reader.disconnect();
      writer.disconnect();
      await admin?.close();
    },
  };
}
