import { commonConfigSchema, defineConfig, loadConfig, type ConfigOf } from "@loopline/kit";

/** feature-store's environment variables (plus the common LOOPLINE_* ones). */
export const featureStoreConfigSchema = defineConfig({
  ...commonConfigSchema,
  grpcHost: { type: "string", env: "LOOPLINE_FEATURE_STORE_GRPC_HOST", default: "0.0.0.0", doc: "interface the gRPC server binds" },
  grpcPort: { type: "int", env: "LOOPLINE_FEATURE_STORE_GRPC_PORT", default: 50051, min: 0, max: 65535, doc: "gRPC port (loopline.v1.FeatureStore)" },
  adminPort: { type: "int", env: "LOOPLINE_FEATURE_STORE_ADMIN_PORT", default: 9402, min: 0, max: 65535, doc: "admin HTTP port (/metrics, /healthz, /readyz)" },
  consumerGroup: { type: "string", env: "LOOPLINE_FEATURE_STORE_GROUP", default: "loopline-feature-store", doc: "Kafka consumer group of the materialiser" },
  concurrency: { type: "int", env: "LOOPLINE_FEATURE_STORE_CONCURRENCY", default: 3, min: 1, max: 64, doc: "partitions of loopline.features materialised concurrently" },
  maxEntities: { type: "int", env: "LOOPLINE_FEATURE_STORE_MAX_ENTITIES", default: 1000, min: 1, doc: "most entity ids one GetOnlineFeatures call may ask for" },
  historyLength: { type: "int", env: "LOOPLINE_FEATURE_STORE_HISTORY", default: 32, min: 1, max: 10_000, doc: "versions kept per entity and view for as-of reads" },
  expiryGraceMs: { type: "duration", env: "LOOPLINE_FEATURE_STORE_EXPIRY_GRACE", default: 86_400_000, doc: "how long after the longest max age a stored value is deleted (until then it reads OUTSIDE_MAX_AGE; deletion comes up to an eighth of max age + grace, at most an hour, later)" },
  redisKeyPrefix: { type: "string", env: "LOOPLINE_FEATURE_STORE_KEY_PREFIX", default: "", doc: "prefix of every Redis key (isolation)" },
  redisTimeoutMs: { type: "duration", env: "LOOPLINE_FEATURE_STORE_REDIS_TIMEOUT", default: 1000, doc: "per-command Redis timeout on the read path" },
});

/** Typed feature-store config. */
export type FeatureStoreConfig = ConfigOf<typeof featureStoreConfigSchema>;

/** Reads and validates feature-store's config; throws ConfigError naming every bad variable. */
export function loadFeatureStoreConfig(env: Readonly<Record<string, string | undefined>>): FeatureStoreConfig {
  return loadConfig(featureStoreConfigSchema, env);
}
