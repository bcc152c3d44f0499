export { createAdminServer } from "./admin-server.js";
export type { AdminServer, AdminServerOptions, ReadinessCheck } from "./admin-server.js";
export {
  checkColumns,
  createClickHouse,
  createRowBinaryEncoder,
  encodeRowBinary,
  execute,
  insertEncoded,
  insertRows,
  pingClickHouse,
  queryRows,
  RowBinaryWriter,
  serverVersion,
} from "./clickhouse.js";
export type { ClickHouse, ClickHouseOptions, EncodedFormat, RowBinaryColumn, RowBinaryType } from "./clickhouse.js";
export { commonConfigSchema } from "./common-config.js";
export { ConfigError, defineConfig, describeConfig, formatDuration, loadConfig, parseDuration } from "./config.js";
export type { ConfigField, ConfigOf, ConfigSchema } from "./config.js";
export { serviceNodeFlags } from "./node-flags.js";
export { describeError, LooplineError, UnavailableError } from "./errors.js";
export type { LooplineErrorCode } from "./errors.js";
export { createKafka, deadLetterRecord, DLQ_HEADERS, publishDeadLetters } from "./kafka.js";
export type {
  BatchConsumer,
  BatchConsumerOptions,
  BatchContext,
  BatchHandler,
  ConsumedRecord,
  DeadLetterReason,
  KafkaKit,
  KafkaOptions,
  KafkaProducer,
  OutgoingRecord,
  ProducerOptions,
  RecordBatch,
} from "./kafka.js";
export { createLogger, LOG_LEVELS, silentLogger } from "./log.js";
export type { LogFields, Logger, LoggerOptions, LogLevel } from "./log.js";
export { createMetrics, LATENCY_BUCKETS } from "./metrics.js";
export type { Metrics, MetricsOptions } from "./metrics.js";
export { applyMigrations, hasCapability, loadMigrations, MigrationError, splitStatements } from "./migrate.js";
export type { ApplyMigrationsOptions, ClickHouseCapability, Migration, MigrationOutcome } from "./migrate.js";
export { connectRedis, createRedis, deleteKeysMatching, pingRedis } from "./redis.js";
export type { RedisClient, RedisOptions } from "./redis.js";
export { createShutdown } from "./shutdown.js";
export type { Closeable, Shutdown, ShutdownOptions } from "./shutdown.js";
export { escapeString, formatDateTime, ident, quoteIdentifier, quoteString, sql, sqlLiteral } from "./sql.js";
export type { SqlValue } from "./sql.js";
export { dlqTopic, DEFAULT_TOPIC_PREFIX, looplineTopicSpecs, TOPIC_BASES, topicName, topicSpec, topicSpecs } from "./topics.js";
export type { TopicBase, TopicSpec } from "./topics.js";
