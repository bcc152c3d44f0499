import {
  checkColumns,
  createAdminServer,
  createClickHouse,
  createKafka,
  insertEncoded,
  pingClickHouse,
  UnavailableError,
  type AdminServer,
  type BatchConsumer,
  type BatchContext,
  type Logger,
  type Metrics,
  type RecordBatch,
} from "@loopline/kit";
import type { ClickHouseSinkConfig } from "./config.js";
import { TableBody, type EncodedRows } from "./encoded-rows.js";
import { createInsertBatcher } from "./insert-batcher.js";
import { writePredictionRow } from "./prediction-encoder.js";
import { mapRecord, rejectedRow } from "./records.js";
import { seconds } from "./rows.js";
import { columnsOf } from "./table-columns.js";
import { DEAD_LETTERS_TABLE, resolveSinkTopics, type SinkTopic } from "./topics.js";

/** Dependencies a caller supplies. */
export interface ClickHouseSinkDeps {
  logger: Logger;
  metrics: Metrics;
}

/** A built clickhouse-sink. */
export interface ClickHouseSinkService {
  start(): Promise<void>;
  /** Stops consuming (the batches in hand are inserted and committed), then closes the clients. */
  close(): Promise<void>;
  readonly adminPort: number;
}

/** How often a handler waiting on an INSERT heartbeats, so a slow ClickHouse does not cost the group membership. */
const HEARTBEAT_EVERY_MS = 3000;

/** Builds clickhouse-sink from its config; nothing reads process.env here. */
export function createClickHouseSinkService(config: ClickHouseSinkConfig, deps: ClickHouseSinkDeps): ClickHouseSinkService {
  const { logger, metrics } = deps;
  const topics = resolveSinkTopics(config.topicPrefix, config.topics);
  const byTopic = new Map<string, SinkTopic>(topics.map((t) => [t.topic, t]));
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: "clickhouse-sink", logger });
  const clickhouse = createClickHouse({ url: config.clickhouseUrl, database: config.clickhouseDatabase, requestTimeoutMs: config.insertTimeoutMs, logger });

  const inserted = metrics.counter("loopline_sink_rows_inserted_total", "Rows inserted into ClickHouse (redelivered copies included)", ["table"]);
  const insertSeconds = metrics.histogram("loopline_sink_insert_seconds", "Duration of one INSERT", ["table"]);
  const insertRowsHist = metrics.histogram("loopline_sink_insert_rows", "Rows per INSERT", ["table"], [1, 10, 100, 1000, 5000, 10_000, 25_000, 50_000, 100_000]);
  const insertErrors = metrics.counter("loopline_sink_insert_errors_total", "Failed INSERTs (the batches in them are retried)", ["table"]);
  const deadLetters = metrics.counter("loopline_sink_dead_letters_total", "Records the sink could not map, recorded in dead_letters", ["topic", "reason"]);
  const lagGauge = metrics.gauge("loopline_sink_lag_records", "Records in Kafka not yet in ClickHouse, per destination table", ["table"]);

  // Lag per table = sum over its topic-partitions of what the last committed batch left behind,
  // remembering which consumer reported it (its partitions may move on a rebalance).
  const lagByPartition = new Map<string, Map<string, { lag: number; consumer: number }>>();
  const publishLag = (table: string) => {
    let sum = 0;
    for (const v of lagByPartition.get(table)?.values() ?? []) sum += v.lag;
    lagGauge.set({ table }, sum);
  };
  const setLag = (table: string, topicPartition: string, lag: number, consumer: number) => {
    let m = lagByPartition.get(table);
    if (m === undefined) lagByPartition.set(table, (m = new Map()));
    m.set(topicPartition, { lag, consumer });
    publishLag(table);
  };
  const forgetLag = (consumer: number) => {
    for (const [table, m] of lagByPartition) {
      for (const [tp, v] of m) if (v.consumer === consumer) m.delete(tp);
      publishLag(table);
    }
  };

  // RowBinary has no names or types: before the first INSERT into a table, its columns are checked
  // against the sink's (once per process; a failed check is retried with the next INSERT).
  const checked = new Map<string, Promise<void>>();
  const checkTable = (table: string): Promise<void> => {
    let check = checked.get(table);
    if (check === undefined) {
      checked.set(table, (check = checkColumns(clickhouse, table, columnsOf(table))));
      check.catch(() => checked.delete(table));
    }
    return check;
  };
  const columnNames = (table: string) => columnsOf(table).map((c) => c.name);

  const batcher = createInsertBatcher<EncodedRows>({
    maxRows: config.batchRows,
    lingerMs: config.batchIntervalMs,
    size: (piece) => piece.rows,
    insert: async (table, pieces) => {
      await checkTable(table);
      await insertEncoded(clickhouse, table, columnNames(table), "RowBinary", pieces.map((p) => p.bytes));
    },
    onInsert: (table, rows, secs, error) => {
      insertSeconds.observe({ table }, secs);
      if (error === undefined) {
        inserted.inc({ table }, rows);
        insertRowsHist.observe({ table }, rows);
        return;
      }
      insertErrors.inc({ table });
      // The kit logs the retry; say here why, once per failed INSERT, with the table.
      const level = error instanceof UnavailableError ? "warn" : "error";
      logger[level]("insert failed; the batches in it will be retried", { table, rows, err: error });
    },
  });

  const handle = async (consumer: number, batch: RecordBatch, context: BatchContext): Promise<void> => {
    const topic = byTopic.get(batch.topic);
    if (topic === undefined) return; // not subscribed; cannot happen
    const ingestedAt = seconds(Date.now());
    // Rows are encoded as they are mapped: one RowBinary body per table (no row objects for predictions).
    const bodies = new Map<string, TableBody>();
    const bodyOf = (table: string, initialBytes?: number) => {
      let body = bodies.get(table);
      if (body === undefined) bodies.set(table, (body = new TableBody(table, config.batchRows, initialBytes)));
      return body;
    };
    const rejected = new Map<string, number>();
    // Hot path (bench/sink.bench.ts): predictions go straight from protobuf bytes to RowBinary; a
    // record the fast path declines takes the general path below, which rejects or maps it exactly.
    let predictions: TableBody | undefined;
    if (topic.kind === "predictions") {
      let bytes = 0;
      for (const record of batch.records) bytes += record.value?.length ?? 0;
      predictions = bodyOf(topic.table, bytes + 64 * batch.records.length);
    }
    for (const record of batch.records) {
      if (predictions !== undefined && record.value !== null && writePredictionRow(record.value, record.partition, record.offset, ingestedAt, predictions.writer)) {
        predictions.added();
        continue;
      }
      const mapped = mapRecord(topic.kind, record, ingestedAt);
      if ("rows" in mapped) {
        const body = bodyOf(mapped.table);
        for (const row of mapped.rows) body.add(row);
      } else if ("rejected" in mapped) {
        bodyOf(DEAD_LETTERS_TABLE).add(rejectedRow(record, mapped.rejected, ingestedAt));
        rejected.set(mapped.rejected.code, (rejected.get(mapped.rejected.code) ?? 0) + 1);
      }
    }
    const behind = batch.lag > 0;
    const done = Promise.all([...bodies].map(([table, body]) => batcher.write(table, body.finish(), behind)));
    const beat = setInterval(() => void context.heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
    try {
      await done;
    } finally {
      clearInterval(beat);
    }
    // Counted once the rows are durable (a retried batch would otherwise count twice).
    for (const [reason, n] of rejected) deadLetters.inc({ topic: batch.topic, reason }, n);
    if (context.attempt === 1 && rejected.size > 0) {
      logger.warn("records recorded in dead_letters", { topic: batch.topic, partition: batch.partition, reasons: Object.fromEntries(rejected) });
    }
    setLag(topic.table, `${batch.topic}:${batch.partition}`, batch.lag, consumer);
  };

  const consumers: BatchConsumer[] = [];
  let admin: AdminServer | undefined;

  return {
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
          { name: "kafka", check: () => kafka.ping() },
          { name: "clickhouse", check: () => pingClickHouse(clickhouse) },
        ],
      });
      await kafka.waitUntilReachable();
      await kafka.ensureTopics(topics.map((t) => t.spec));
      // kafkajs fetches from a broker, waits for every batch of that fetch to be handled, then fetches
      // again: one consumer never overlaps Kafka with ClickHouse. Several members of the group do.
      for (let i = 0; i < config.consumers; i++) {
        const consumer = kafka.createConsumer({
          groupId: config.consumerGroup,
          topics: topics.map((t) => t.topic),
          partitionsConsumedConcurrently: config.concurrency,
          maxBytesPerPartition: config.maxBytesPerPartition,
          sessionTimeoutMs: config.sessionTimeoutMs,
          // The kit's consumer metrics are registered once; every member reports into them.
          ...(i === 0 ? { metrics } : {}),
          // Partitions may have moved to another member or instance: their lag is no longer this member's to report.
          onAssignment: () => forgetLag(i),
          handler: (batch, context) => handle(i, batch, context),
        });
        consumers.push(consumer);
        await consumer.start();
      }
      logger.info("clickhouse-sink started", {
        topics: topics.map((t) => `${t.topic} -> ${t.table}`),
        database: config.clickhouseDatabase,
        adminPort: admin.port,
      });
    },
    close: async () => {
      admin?.setDraining();
      // Rows in hand go out now; the consumer then commits them as it stops.
      batcher.drain();
      await Promise.all(consumers.map((c) => c.close()));
      await kafka.close();
      await clickhouse.close();
      await admin?.close();
    },
  };
}
