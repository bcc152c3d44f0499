import { commonConfigSchema, defineConfig, loadConfig, type ConfigOf } from "@loopline/kit";

/** feature-ingest's environment variables (plus the common LOOPLINE_* ones). */
export const featureIngestConfigSchema = defineConfig({
  ...commonConfigSchema,
  adminPort: { type: "int", env: "LOOPLINE_FEATURE_INGEST_ADMIN_PORT", default: 9401, min: 0, max: 65535, doc: "admin HTTP port (/metrics, /healthz, /readyz)" },
  consumerGroup: { type: "string", env: "LOOPLINE_FEATURE_INGEST_GROUP", default: "loopline-feature-ingest", doc: "Kafka consumer group" },
  views: { type: "list", env: "LOOPLINE_FEATURE_INGEST_VIEWS", default: ["*"], doc: "feature views to compute, by name (* = every built-in view)" },
  maxEventBytes: { type: "int", env: "LOOPLINE_FEATURE_INGEST_MAX_EVENT_BYTES", default: 65_536, min: 256, doc: "larger events are dead-lettered as OVERSIZE" },
  maxClockSkewMs: { type: "duration", env: "LOOPLINE_FEATURE_INGEST_MAX_CLOCK_SKEW", default: 300_000, doc: "events further in the future are dead-lettered as FUTURE_EVENT_TIME" },
  concurrency: { type: "int", env: "LOOPLINE_FEATURE_INGEST_CONCURRENCY", default: 3, min: 1, max: 64, doc: "partitions processed concurrently" },
  stateKeyPrefix: { type: "string", env: "LOOPLINE_FEATURE_INGEST_STATE_PREFIX", default: "", doc: "prefix of the Redis keys holding window state (isolation)" },
  sessionTimeoutMs: { type: "duration", env: "LOOPLINE_FEATURE_INGEST_SESSION_TIMEOUT", default: 30_000, doc: "Kafka group session timeout: how soon a crashed instance's partitions move" },
  foldEvents: { type: "int", env: "LOOPLINE_FEATURE_INGEST_FOLD_EVENTS", default: 50_000, min: 1, doc: "journaled events per view and partition that start folding the journal into the window-state base (idle entities leave the state when a fold ends)" },
});

/** Typed feature-ingest config. */
export type FeatureIngestConfig = ConfigOf<typeof featureIngestConfigSchema>;

/** Reads and validates feature-ingest's config; throws ConfigError naming every bad variable. */
export function loadFeatureIngestConfig(env: Readonly<Record<string, string | undefined>>): FeatureIngestConfig {
  return loadConfig(featureIngestConfigSchema, env);
}
