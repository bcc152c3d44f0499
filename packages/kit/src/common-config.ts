import { defineConfig } from "./config.js";
import { LOG_LEVELS } from "./log.js";
import { DEFAULT_TOPIC_PREFIX } from "./topics.js";

/** Variables every service shares; a service spreads this into its own schema. */
export const commonConfigSchema = defineConfig({
  kafkaBrokers: { type: "list", env: "LOOPLINE_KAFKA_BROKERS", default: ["127.0.0.1:9092"], doc: "Kafka bootstrap servers, comma-separated" },
  redisUrl: { type: "url", env: "LOOPLINE_REDIS_URL", protocols: ["redis", "rediss"], default: "redis://127.0.0.1:6379", doc: "Redis URL" },
  clickhouseUrl: { type: "url", env: "LOOPLINE_CLICKHOUSE_URL", protocols: ["http", "https"], default: "http://127.0.0.1:8123", doc: "ClickHouse HTTP endpoint" },
  clickhouseDatabase: { type: "string", env: "LOOPLINE_CLICKHOUSE_DATABASE", pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, default: "loopline", doc: "ClickHouse database" },
  topicPrefix: { type: "string", env: "LOOPLINE_TOPIC_PREFIX", pattern: /^[A-Za-z0-9._-]*$/, default: DEFAULT_TOPIC_PREFIX, doc: "prefix of every topic name" },
  logLevel: { type: "enum", env: "LOOPLINE_LOG_LEVEL", values: LOG_LEVELS, default: "info", doc: "lowest log level written" },
  adminHost: { type: "string", env: "LOOPLINE_ADMIN_HOST", default: "127.0.0.1", doc: "interface the admin HTTP server binds" },
  shutdownGraceMs: { type: "duration", env: "LOOPLINE_SHUTDOWN_GRACE", default: 15_000, doc: "how long shutdown may drain before the process is forced down" },
});
