import { commonConfigSchema, ConfigError, defineConfig, loadConfig, type ConfigOf } from "@loopline/kit";
import { resolveSinkTopics } from "./topics.js";

/** Topics sunk by default: everything but raw events and retrain decisions, plus every DLQ of them and events.dlq. */
export const DEFAULT_SINK_TOPICS = [
  "features",
  "predictions",
  "labels",
  "drift",
  "models",
  "features.dlq",
  "predictions.dlq",
  "labels.dlq",
  "drift.dlq",
  "models.dlq",
  "events.dlq",
] as const;

/** clickhouse-sink's environment variables (plus the common LOOPLINE_* ones). */
export const clickhouseSinkConfigSchema = defineConfig({
  ...commonConfigSchema,
  adminPort: { type: "int", env: "LOOPLINE_SINK_ADMIN_PORT", default: 9407, min: 0, max: 65535, doc: "admin HTTP port (/metrics, /healthz, /readyz)" },
  consumerGroup: { type: "string", env: "LOOPLINE_SINK_GROUP", default: "loopline-clickhouse-sink", doc: "Kafka consumer group" },
  topics: {
    type: "list",
    env: "LOOPLINE_SINK_TOPICS",
    default: DEFAULT_SINK_TOPICS,
    doc: "topics to persist, by base name without the prefix: events, features, predictions, labels, drift, models, retrain, or <base>.dlq",
  },
  batchRows: { type: "int", env: "LOOPLINE_SINK_BATCH_ROWS", default: 50_000, min: 1, max: 10_000_000, doc: "most rows in one INSERT; a table's buffer is inserted as soon as it holds this many" },
  batchIntervalMs: {
    type: "duration",
    env: "LOOPLINE_SINK_BATCH_INTERVAL",
    default: 1000,
    doc: "longest rows wait for others to share their INSERT while the sink is caught up (when behind, it inserts without waiting)",
  },
  consumers: {
    type: "int",
    env: "LOOPLINE_SINK_CONSUMERS",
    default: 2,
    min: 1,
    max: 16,
    doc: "Kafka consumers in this process, in the same group: each fetches on its own, so one decodes while another's INSERT runs",
  },
  concurrency: { type: "int", env: "LOOPLINE_SINK_CONCURRENCY", default: 8, min: 1, max: 256, doc: "Kafka partitions handled at once; their rows share INSERTs per table" },
  maxBytesPerPartition: { type: "int", env: "LOOPLINE_SINK_FETCH_BYTES_PER_PARTITION", default: 4 * 1024 * 1024, min: 1024, doc: "most bytes fetched per partition per Kafka request (bounds a Kafka batch)" },
  insertTimeoutMs: { type: "duration", env: "LOOPLINE_SINK_INSERT_TIMEOUT", default: 30_000, doc: "ClickHouse request timeout; a timed-out INSERT is retried (duplicates collapse)" },
  sessionTimeoutMs: { type: "duration", env: "LOOPLINE_SINK_SESSION_TIMEOUT", default: 30_000, doc: "Kafka group session timeout: how soon a crashed instance's partitions move" },
});

/** Typed clickhouse-sink config. */
export type ClickHouseSinkConfig = ConfigOf<typeof clickhouseSinkConfigSchema>;

/** Reads and validates clickhouse-sink's config; throws ConfigError naming every bad variable. */
export function loadClickHouseSinkConfig(env: Readonly<Record<string, string | undefined>>): ClickHouseSinkConfig {
  const config = loadConfig(clickhouseSinkConfigSchema, env);
  try {
    resolveSinkTopics(config.topicPrefix, config.topics);
  } catch (err) {
    throw new ConfigError([{ variable: clickhouseSinkConfigSchema.topics.env, problem: (err as Error).message }]);
  }
  return config;
}
