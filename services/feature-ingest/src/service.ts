import { builtinRegistry, createEventValidator, type FeatureView } from "@loopline/features";
import {
  createAdminServer,
  createKafka,
  createRedis,
  dlqTopic,
  pingRedis,
  publishDeadLetters,
  topicName,
  topicSpecs,
  type AdminServer,
  type BatchConsumer,
  type KafkaProducer,
  type Logger,
  type Metrics,
  type OutgoingRecord,
} from "@loopline/kit";
import type { FeatureIngestConfig } from "./config.js";
import { processBatch, type PartitionState } from "./processor.js";
import { updateRecord } from "./publish.js";
import { createStateStore } from "./state-store.js";

/** Dependencies a caller may supply (tests pass their own views or clock). */
export interface FeatureIngestDeps {
  logger: Logger;
  metrics: Metrics;
  /** Views to compute. Default: from config.views over the built-in registry. */
  views?: readonly FeatureView[];
  /** Clock for future-time validation (tests). Default Date.now. */
  now?: () => number;
  /** Wraps the producer (fault injection in tests). Default: the producer as is. */
  wrapProducer?: (producer: KafkaProducer) => KafkaProducer;
}

/** A built feature-ingest. */
export interface FeatureIngestService {
  start(): Promise<void>;
  /** Stops consuming (the batch in hand finishes and commits), flushes, closes clients. */
  close(): Promise<void>;
  readonly adminPort: number;
}

/** Batches slower than this are logged at debug level with where the time went. */
const SLOW_BATCH_MS = 250;

/** Resolves the configured view names ("*" = all built-in). */
export function selectViews(names: readonly string[]): FeatureView[] {
  if (names.includes("*")) return [...builtinRegistry.views];
  return names.map((n) => builtinRegistry.getView(n));
}

/** Builds feature-ingest from its config; nothing reads process.env here. */
export function createFeatureIngestService(config: FeatureIngestConfig, deps: FeatureIngestDeps): FeatureIngestService {
  const { logger, metrics } = deps;
  const views = deps.views ?? selectViews(config.views);
  const validator = createEventValidator({
    views,
    maxEventBytes: config.maxEventBytes,
    maxClockSkew: config.maxClockSkewMs,
    ...(deps.now !== undefined ? { now: deps.now } : {}),
  });
  const redis = createRedis({
    url: config.redisUrl,
    logger,
    mode: "background",
    connectionName: "feature-ingest",
    ...(config.stateKeyPrefix !== "" ? { keyPrefix: config.stateKeyPrefix } : {}),
  });
  const stateStore = createStateStore({ redis, logger, foldEvents: config.foldEvents });
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: "feature-ingest", logger });
  const eventsTopic = topicName(config.topicPrefix, "events");
  const featuresTopic = topicName(config.topicPrefix, "features");

  const events = metrics.counter("loopline_feature_ingest_events_total", "Raw events by outcome (accepted, duplicate, rejected)", ["outcome", "reason"]);
  const published = metrics.counter("loopline_feature_ingest_updates_total", "Feature updates published");
  const batchSeconds = metrics.histogram("loopline_feature_ingest_batch_seconds", "Time to process, publish and checkpoint one batch");
  const entities = metrics.gauge("loopline_feature_ingest_entities", "Entities held in window state", ["view"]);

  // Per-partition state, loaded lazily from Redis on the first batch after an assignment.
  const partitions = new Map<number, Promise<PartitionState>>();
  // The kit hands a partition's batches over one at a time (the next once the one before is
  // committed or abandoned), so a partition's state is never loaded or saved by two at once.
  const stateOf = (p: number): Promise<PartitionState> => {
    let s = partitions.get(p);
    if (s === undefined) {
      s = stateStore.load(p, views);
      partitions.set(p, s);
      s.catch(() => partitions.delete(p)); // a failed load is retried with the batch
    }
    return s;
  };

  let producer: KafkaProducer | undefined;
  let consumer: BatchConsumer | undefined;
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
          { name: "redis", check: () => pingRedis(redis) },
        ],
      });
      await kafka.waitUntilReachable();
      await kafka.ensureTopics(topicSpecs(config.topicPrefix, [eventsTopic, dlqTopic(eventsTopic), featuresTopic]));
      producer = await kafka.createProducer();
      const out = deps.wrapProducer?.(producer) ?? producer;
      consumer = kafka.createConsumer({
        groupId: config.consumerGroup,
        topics: [eventsTopic],
        partitionsConsumedConcurrently: config.concurrency,
        // The next batch is fetched while this one is published and checkpointed (still committed
        // in order, after its checkpoint): the fetch round trip no longer idles the process.
        pipeline: true,
        sessionTimeoutMs: config.sessionTimeoutMs,
        metrics,
        onAssignment: () => {
          // Partitions may have moved: reload from Redis on the next batch rather than trust memory.
          partitions.clear();
        },
        handler: async (batch, context) => {
          const started = performance.now();
          const state = await stateOf(batch.partition);
          // Updates are encoded as they are made (one timestamp for the batch), see processBatch.
          const producedAt = Date.now();
          const records: OutgoingRecord[] = [];
          const outcome = processBatch(batch.records, state, views, validator, (u) => records.push(updateRecord(u, producedAt)));
          const processed = performance.now();
          let sent = processed;
          try {
            // Durable before the state is saved, saved before the offsets are committed (by the kit).
            await out.send(featuresTopic, records);
            if (outcome.dead.length > 0) await publishDeadLetters(out, "feature-ingest", outcome.dead);
            sent = performance.now();
            // A partition revoked meanwhile (rebalance) or a stop: its next owner reads this batch
            // again from the last commit, so it must not find the batch's events journaled by us.
            // Its updates are out already; the same ones come again and the store ignores them.
            if (!context.isRunning()) {
              partitions.delete(batch.partition);
              return;
            }
            await stateStore.save(state, outcome.accepted);
          } catch (err) {
            // The engines already hold this batch, but nothing past the last checkpoint is durable.
            // The kit retries the batch in place: it must start from the checkpoint, or every event
            // of the batch would look like a redelivery and its updates would never be published.
            partitions.delete(batch.partition);
            throw err;
          }
          published.inc(records.length);
          events.inc({ outcome: "accepted", reason: "" }, outcome.acceptedCount);
          if (outcome.duplicates > 0) events.inc({ outcome: "duplicate", reason: "" }, outcome.duplicates);
          for (const [reason, n] of outcome.rejected) events.inc({ outcome: "rejected", reason }, n);
          if (outcome.dead.length > 0) logger.warn("events dead-lettered", { partition: batch.partition, count: outcome.dead.length, first: outcome.dead[0]?.reason });
          for (const [name, engine] of state.engines) entities.set({ view: name }, engine.entityCount);
          const done = performance.now();
          batchSeconds.observe((done - started) / 1000);
          if (done - started > SLOW_BATCH_MS) {
            const ms = (a: number, b: number) => Math.round(b - a);
            logger.debug("slow batch", { partition: batch.partition, records: batch.records.length, processMs: ms(started, processed), publishMs: ms(processed, sent), checkpointMs: ms(sent, done) });
          }
        },
      });
      await consumer.start();
      logger.info("feature-ingest started", { topic: eventsTopic, output: featuresTopic, views: views.map((v) => v.name), adminPort: admin.port });
    },
    close: async () => {
      admin?.setDraining();
      await consumer?.close();
      await producer?.close();
      await kafka.close();
      redis.disconnect();
      await admin?.close();
    },
  };
}
