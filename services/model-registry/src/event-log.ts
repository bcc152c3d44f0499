import { randomBytes } from "node:crypto";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { topicName, topicSpecs, type BatchConsumer, type KafkaKit, type KafkaProducer, type Logger, type Metrics } from "@loopline/kit";
import { ModelEventSchema, ModelEventType, type ModelEvent } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { RegistryError } from "./errors.js";

/** The registry's source of truth: the ordered, durable log of model events. */
export interface EventLog {
  /** The topic name, e.g. "loopline.models". */
  readonly topic: string;
  /**
   * Creates the topic if missing, starts reading it from the beginning, and resolves once every
   * record that existed at start has been handed to `onEvents` (the replay). Later records (the
   * registry's own writes echoed back, or a write whose acknowledgement was lost) keep arriving.
   */
  start(onEvents: (events: ModelEvent[]) => void): Promise<void>;
  /** Appends events in one produce request; resolves once Kafka acknowledged them (acks=all). */
  publish(events: readonly ModelEvent[]): Promise<void>;
  /** Resolves once every record written so far has been handed to `onEvents`. */
  catchUp(timeoutMs: number): Promise<void>;
  /** Stops reading and writing. */
  close(): Promise<void>;
}

/** Options of createKafkaEventLog. */
export interface KafkaEventLogOptions {
  /** The kit's Kafka entry point. */
  kafka: KafkaKit;
  /** Topic prefix; the topic is `<prefix>models`. */
  topicPrefix: string;
  logger: Logger;
  /** Registers loopline_registry_log_* metrics. Default: none. */
  metrics?: Metrics;
  /** How long start() may take to replay the topic. Default 60000 ms. */
  replayTimeoutMs?: number;
}

/**
 * The record key of an event: `<model>/<sequence, 20 digits>`. Compaction keeps only the last
 * record per key, so every event gets a key of its own and compaction never removes history;
 * the zero padding makes keys sort in sequence order in any tool that lists them.
 */
export function eventKey(event: Pick<ModelEvent, "model" | "sequence">): string {
  return `${event.model}/${event.sequence.toString().padStart(20, "0")}`;
}

/** The registry's event log on the compacted, single-partition `<prefix>models` topic. */
export function createKafkaEventLog(options: KafkaEventLogOptions): EventLog {
  const { kafka, logger } = options;
  const log = logger.child({ component: "event-log" });
  const topic = topicName(options.topicPrefix, "models");
  const skipped = options.metrics?.counter("loopline_registry_log_records_skipped_total", "Records on the models topic that are not ModelEvents (skipped)");
  let producer: KafkaProducer | undefined;
  let consumer: BatchConsumer | undefined;
  // Offset of the next record to read; waiters resolve when it passes their target.
  let nextOffset = 0n;
  let waiters: { target: bigint; resolve: () => void }[] = [];
  let closed = false;

  const advance = (offset: bigint) => {
    nextOffset = offset;
    const [done, pending] = [waiters.filter((w) => w.target <= offset), waiters.filter((w) => w.target > offset)];
    waiters = pending;
    for (const w of done) w.resolve();
  };

  const catchUp = async (timeoutMs: number) => {
    const end = BigInt((await kafka.topicEndOffsets(topic))[0]?.offset ?? "0");
    if (end <= nextOffset) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => waiters.push({ target: end, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new RegistryError("UNAVAILABLE", `${topic}: read up to offset ${nextOffset} of ${end} within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    topic,
    async start(onEvents) {
      // The kit retries the broker's metadata race right after CreateTopics.
      await kafka.waitUntilReachable();
      await kafka.ensureTopics(topicSpecs(options.topicPrefix, [topic]));
      producer = await kafka.createProducer();
      // A fresh group per start: the registry always replays the whole topic, it never resumes,
      // so it commits nothing and Kafka deletes the group soon after it stops.
      consumer = kafka.createConsumer({
        groupId: `loopline-model-registry.${randomBytes(6).toString("hex")}`,
        topics: [topic],
        fromBeginning: true,
        commit: false,
        maxBytesPerPartition: 8 * 1024 * 1024,
        handler: async (batch) => {
          const events: ModelEvent[] = [];
          for (const record of batch.records) {
            try {
              if (record.value === null) throw new Error("empty value");
              const event = fromBinary(ModelEventSchema, record.value);
              if (event.sequence === 0n || event.type === ModelEventType.UNSPECIFIED) throw new Error("no sequence or type");
              events.push(event);
            } catch (err) {
              skipped?.inc();
              log.error("record on the models topic is not a ModelEvent; skipped", { offset: record.offset, err });
            }
          }
          onEvents(events);
          const last = batch.records.at(-1);
          if (last !== undefined) advance(BigInt(last.offset) + 1n);
          return Promise.resolve();
        },
      });
      await consumer.start();
      const started = Date.now();
      await catchUp(options.replayTimeoutMs ?? 60_000);
      log.info("replayed the models topic", { topic, records: nextOffset.toString(), ms: Date.now() - started });
    },
    async publish(events) {
      if (producer === undefined || closed) throw new RegistryError("UNAVAILABLE", "the event log is not open");
      await producer.send(
        topic,
        events.map((event) => ({
          key: eventKey(event),
          value: Buffer.from(toBinary(ModelEventSchema, event)),
          headers: { "content-type": "application/x-protobuf", "loopline-type": "loopline.v1.ModelEvent" },
          timestamp: Number(event.timeMs),
        })),
      );
    },
    catchUp,
    async close() {
      closed = true;
      await consumer?.close();
      await producer?.close();
    },
  };
}
