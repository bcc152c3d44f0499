// Reading whole topics for the CLI's offline commands (replay, train): from the beginning up to the
// end offsets taken at start, under a throwaway group that commits nothing.
import { randomUUID } from "node:crypto";
import { createKafka, describeError, silentLogger, topicName, type ConsumedRecord, type KafkaKit, type TopicBase } from "@loopline/kit";
import type { CommandIO } from "./commands.js";

/** How long the Kafka probe may take before the brokers count as unreachable. */
const PROBE_TIMEOUT_MS = 10_000;
/** Reading gives up waiting for a partition after this long without a record (see readTopic). */
const STALL_MS = 30_000;
const PROGRESS_INTERVAL_MS = 2_000;

/** A failure that is not a usage mistake: printed as one line naming the command, exit code 1. */
export class CommandFailure extends Error {
  override name = "CommandFailure";
}

/** Records kept from one topic, how many were read, and partitions given up on short of their end. */
export interface TopicRead {
  topic: string;
  records: ConsumedRecord[];
  recordsRead: number;
  incomplete: number[];
}

/** One topic to read: its base name (e.g. "events") and which records to keep. */
export interface TopicRequest {
  base: TopicBase;
  keep: (record: ConsumedRecord) => boolean;
}

async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(onTimeout), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Reads each requested topic of LOOPLINE_TOPIC_PREFIX in turn, with one Kafka client. Unreachable
 * brokers, a missing topic or a failed read become a CommandFailure naming the variable to check.
 */
export async function readTopics(config: { kafkaBrokers: readonly string[]; topicPrefix: string }, requests: readonly TopicRequest[], io: CommandIO, command: string): Promise<TopicRead[]> {
  const brokers = config.kafkaBrokers.join(",");
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: `loopline-${command}`, logger: silentLogger, clientLogLevel: "error" });
  const reads: TopicRead[] = [];
  let topic = "";
  try {
    if (!(await withTimeout(kafka.ping(), PROBE_TIMEOUT_MS, false))) throw new CommandFailure(`Kafka is not reachable at ${brokers} (LOOPLINE_KAFKA_BROKERS)`);
    const existing = await kafka.listTopics();
    for (const request of requests) {
      topic = topicName(config.topicPrefix, request.base);
      if (!existing.includes(topic)) throw new CommandFailure(`topic ${topic} does not exist (LOOPLINE_TOPIC_PREFIX is "${config.topicPrefix}")`);
      reads.push(await readTopic(kafka, topic, request.keep, io, brokers, command));
    }
  } catch (err) {
    if (err instanceof CommandFailure) throw err;
    throw new CommandFailure(`reading ${topic} from ${brokers} (LOOPLINE_KAFKA_BROKERS) failed: ${describeError(err).message.split("\n")[0] ?? ""}`);
  } finally {
    await kafka.close().catch(() => undefined);
  }
  return reads;
}

/**
 * Reads `topic` from the beginning up to the end offsets taken now, keeping the records `keep`
 * accepts. The kit subscribes consumers to whole topics, so every partition is read. A partition
 * with no record for STALL_MS while short of its end (its records deleted by retention: the kit
 * reports no log-start offsets) is given up on, warned about and named in the result.
 */
async function readTopic(kafka: KafkaKit, topic: string, keep: (record: ConsumedRecord) => boolean, io: CommandIO, brokers: string, command: string): Promise<TopicRead> {
  const ends = new Map((await kafka.topicEndOffsets(topic)).map((p) => [p.partition, Number(p.offset)]));
  const pending = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
  const records: ConsumedRecord[] = [];
  const result: TopicRead = { topic, records, recordsRead: 0, incomplete: [] };
  if (pending.size === 0) return result;
  const total = [...ends.values()].reduce((a, b) => a + b, 0);
  const position = new Map<number, number>();
  let lastProgress = Date.now();
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const consumer = kafka.createConsumer({
    groupId: `loopline-${command}-${randomUUID()}`,
    topics: [topic],
    commit: false,
    fromBeginning: true,
    partitionsConsumedConcurrently: Math.min(ends.size, 8),
    maxBytesPerPartition: 4 * 1024 * 1024,
    handler: async (batch) => {
      const end = ends.get(batch.partition) ?? 0;
      for (const r of batch.records) {
        const offset = Number(r.offset);
        if (offset >= end) {
          position.set(batch.partition, end);
          break;
        }
        result.recordsRead++;
        position.set(batch.partition, offset + 1);
        if (keep(r)) records.push(r);
      }
      lastProgress = Date.now();
      if ((position.get(batch.partition) ?? 0) >= end) pending.delete(batch.partition);
      if (pending.size === 0) finish();
    },
  });
  const read = () => [...position.values()].reduce((a, b) => a + b, 0);
  const progress = setInterval(() => io.err(`loopline ${command}: read ${read()}/${total} records of ${topic}\n`), PROGRESS_INTERVAL_MS);
  let stalled = false;
  const watchdog = setInterval(() => {
    if (Date.now() - lastProgress < STALL_MS) return;
    stalled = true;
    finish();
  }, 1_000);
  try {
    await consumer.start();
    await done;
  } finally {
    clearInterval(progress);
    clearInterval(watchdog);
    await consumer.close();
  }
  if (stalled) {
    if (!(await withTimeout(kafka.ping(), PROBE_TIMEOUT_MS, false))) throw new CommandFailure(`Kafka stopped answering at ${brokers} (LOOPLINE_KAFKA_BROKERS) while reading ${topic}`);
    result.incomplete = [...pending].sort((a, b) => a - b);
    io.err(`loopline ${command}: warning: partition(s) ${result.incomplete.join(", ")} of ${topic} gave no records for ${STALL_MS / 1000}s short of their end offsets (deleted by retention?); using what was read\n`);
  }
  return result;
}
