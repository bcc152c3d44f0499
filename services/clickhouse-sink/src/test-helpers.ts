// Helpers shared by clickhouse-sink's integration tests (not part of the service).
import { queryRows, type ClickHouse, type KafkaKit } from "@loopline/kit";
import { DEFAULT_SINK_TOPICS } from "./config.js";

/** Every topic the sink can persist, by base name. */
export const ALL_SINK_TOPICS = [...DEFAULT_SINK_TOPICS, "events", "retrain", "retrain.dlq"];

/** Environment for a sink on an isolated prefix and database. */
export function sinkEnv(options: { prefix: string; database: string; clickhouseUrl: string; brokers: readonly string[]; extra?: Record<string, string> }): Record<string, string> {
  return {
    LOOPLINE_KAFKA_BROKERS: options.brokers.join(","),
    LOOPLINE_CLICKHOUSE_URL: options.clickhouseUrl,
    LOOPLINE_CLICKHOUSE_DATABASE: options.database,
    LOOPLINE_TOPIC_PREFIX: options.prefix,
    LOOPLINE_SINK_GROUP: `${options.prefix}sink`,
    LOOPLINE_SINK_ADMIN_PORT: "0",
    LOOPLINE_SINK_TOPICS: ALL_SINK_TOPICS.join(","),
    LOOPLINE_SINK_BATCH_INTERVAL: "100ms",
    LOOPLINE_SINK_SESSION_TIMEOUT: "6s",
    LOOPLINE_LOG_LEVEL: "warn",
    ...options.extra,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the group has committed every partition of the topics up to its end. */
export async function waitForCommitted(kafka: KafkaKit, group: string, topics: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let done = true;
    for (const topic of topics) {
      const ends = await kafka.topicEndOffsets(topic);
      const committed = await kafka.groupOffsets(group, topic);
      // An empty partition (end 0) needs no commit.
      if (!ends.every((e) => e.offset === "0" || committed.find((c) => c.partition === e.partition)?.offset === e.offset)) done = false;
    }
    if (done) return;
    if (Date.now() > deadline) throw new Error(`sink did not catch up on ${topics.join(", ")} within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** One number from a query such as `SELECT count() AS n FROM ...`. */
export async function count(clickhouse: ClickHouse, query: string): Promise<number> {
  const rows = await queryRows<{ n: string | number }>(clickhouse, query);
  return Number(rows[0]?.n ?? Number.NaN);
}
