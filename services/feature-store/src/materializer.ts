import type { FeatureRegistry } from "@loopline/features";
import { publishDeadLetters, type BatchConsumer, type ConsumedRecord, type DeadLetterReason, type KafkaKit, type KafkaProducer, type Logger, type Metrics } from "@loopline/kit";
import type { PendingWrite, RedisFeatureStore } from "./redis-store.js";
import { createRecordChecker } from "./updates.js";

/** Options of createMaterializer. */
export interface MaterializerOptions {
  kafka: KafkaKit;
  /** The feature-update topic (loopline.features). */
  topic: string;
  groupId: string;
  /** Partitions handled concurrently (their Redis writes overlap). Default 1. */
  concurrency?: number;
  store: RedisFeatureStore;
  registry: FeatureRegistry;
  /** Producer for dead letters of undecodable or unknown updates. */
  producer: KafkaProducer;
  expiryGraceMs: number;
  metrics: Metrics;
  logger: Logger;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
}

/**
 * Consumes loopline.features and stores each batch in Redis newer-wins. Offsets are committed only
 * after Redis acknowledged the batch; when Redis is down the kit retries the same batch with
 * backoff (intake pauses) and carries on when it returns, so nothing is dropped.
 */
export function createMaterializer(options: MaterializerOptions): BatchConsumer {
  const { store, registry, logger, metrics } = options;
  const now = options.now ?? Date.now;
  const written = metrics.counter("loopline_feature_store_updates_total", "Feature updates consumed, by outcome (written, stale, rejected)", ["outcome"]);
  // Freshness buckets in seconds: 5 ms .. 60 s.
  const freshness = metrics.histogram(
    "loopline_feature_store_freshness_seconds",
    "Event time (as-of) to readable in Redis",
    [],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  const redisLatency = metrics.histogram("loopline_feature_store_redis_write_seconds", "Redis batch write latency");
  const checkRecord = createRecordChecker(registry);

  return options.kafka.createConsumer({
    groupId: options.groupId,
    topics: [options.topic],
    // Partitions hold disjoint entities and every key is compare-and-set, so they may overlap.
    partitionsConsumedConcurrently: options.concurrency ?? 1,
    // The next batch is fetched while this one is written: the materialiser keeps its core busy.
    pipeline: true,
    metrics,
    // Hot path: guarded by bench/features.bench.ts (events/s from Kafka to readable in Redis).
    handler: async (batch) => {
      const writes: PendingWrite[] = [];
      const dead: { record: ConsumedRecord; reason: DeadLetterReason }[] = [];
      const t = now();
      for (const record of batch.records) {
        let r;
        try {
          // The record's bytes are stored as they are: its values are checked, never decoded.
          r = checkRecord(record.value ?? new Uint8Array(), options.expiryGraceMs, t);
        } catch (err) {
          dead.push({ record, reason: { code: "UNDECODABLE", detail: `not a loopline.v1.FeatureUpdate: ${(err as Error).message}` } });
          continue;
        }
        if (r.ok) writes.push(r.write);
        else dead.push({ record, reason: { code: r.problem.code, detail: r.problem.detail } });
      }
      if (dead.length > 0) {
        await publishDeadLetters(options.producer, "feature-store", dead);
        written.inc({ outcome: "rejected" }, dead.length);
        logger.warn("feature updates dead-lettered", { count: dead.length, first: dead[0]?.reason });
      }
      const started = performance.now();
      const outcome = await store.write(writes);
      redisLatency.observe((performance.now() - started) / 1000);
      written.inc({ outcome: "written" }, outcome.written);
      written.inc({ outcome: "stale" }, outcome.stale);
      const readable = now();
      for (const w of writes) freshness.observe(Math.max(0, readable - w.asOf) / 1000);
    },
  });
}
