import {
  Kafka,
  Partitioners,
  logLevel as KafkaLogLevel,
  type Admin,
  type Batch,
  type Consumer,
  type ConsumerRunConfig,
  type IHeaders,
  type LogEntry,
  type Message,
  type Producer,
} from "kafkajs";
import { connect } from "node:net";
import { describeError, UnavailableError } from "./errors.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import { dlqTopic, type TopicSpec } from "./topics.js";

// This file is the only one in Loopline that imports kafkajs: swapping the Kafka client means
// re-implementing the types and factories below, nothing else.

/** A record as Loopline's code sees it, independent of the Kafka client library. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  /** Offset as a decimal string (Kafka offsets are 64-bit). */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Headers with single values; repeated headers keep the last value. */
  headers: Record<string, Buffer>;
  /** Broker/producer timestamp in epoch ms. */
  timestamp: number;
}

/** A record to publish. */
export interface OutgoingRecord {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string | Buffer>;
  /** Explicit partition; default: by key hash (Java-compatible murmur2). */
  partition?: number;
  /** Epoch ms; default: now. */
  timestamp?: number;
}

/** Options of createKafka. */
export interface KafkaOptions {
  /** Bootstrap servers, e.g. ["127.0.0.1:9092"]. */
  brokers: readonly string[];
  /** Client id shown in broker logs and quotas. */
  clientId: string;
  /** Logger; kafkajs' own messages are forwarded to it. */
  logger: Logger;
  /** Connection timeout. Default 3000 ms. */
  connectionTimeoutMs?: number;
  /** Request timeout. Default 30000 ms. */
  requestTimeoutMs?: number;
  /** Lowest kafkajs log level forwarded. Default "warn" (kafkajs is chatty at info). */
  clientLogLevel?: "error" | "warn" | "info" | "debug";
}

/** Entry point for everything Kafka: producers, consumers and topic administration. */
export interface KafkaKit {
  /** Creates and connects a producer (acks=all, idempotent). */
  createProducer(options?: ProducerOptions): Promise<KafkaProducer>;
  /** Creates a consumer that runs batches and commits only after the handler has finished. */
  createConsumer(options: BatchConsumerOptions): BatchConsumer;
  /** Creates missing topics; existing ones are left as they are. Resolves with the names created. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<string[]>;
  /** Deletes topics (tests clean up with it). Missing topics are ignored. */
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** Lists topic names. */
  listTopics(): Promise<string[]>;
  /** End offsets (high watermarks) per partition of a topic. */
  topicEndOffsets(topic: string): Promise<{ partition: number; offset: string }[]>;
  /** Committed offsets of a group on a topic, per partition ("-1" when none). */
  groupOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]>;
  /** True when the cluster answers a metadata request (readiness checks); false at once while no broker accepts connections. */
  ping(): Promise<boolean>;
  /**
   * Resolves once the cluster answers, however long that takes. A service's start waits here
   * rather than failing while Kafka is down, so it stays alive (and not ready) and starts when
   * Kafka comes. Logs the wait every 30 s; rejects if close() is called meanwhile.
   */
  waitUntilReachable(): Promise<void>;
  /** Closes the shared admin connection. Producers and consumers are closed by their owners. */
  close(): Promise<void>;
}

const LEVEL_FROM_NAME = {
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
} as const;

/**
 * kafkajs' waits between retries, for clients and consumers alike: from 300 ms, growing to at most
 * 5 s (kafkajs' default cap is 30 s). After a broker restart a consumer is back within seconds, not
 * after its next long wait: in feature-ingest's broker-kill test 23–30 s in all instead of 26 or
 * 52 s; and a consumer kafkajs restarts after an outage first waits the next such interval (~10 s
 * with kafkajs' default client retry, now at most 5 s).
 */
const RETRY_WAITS = { initialRetryTime: 300, maxRetryTime: 5_000 } as const;

/**
 * kafkajs warnings that say nothing an operator should act on, logged at debug instead. kafkajs
 * warns whenever an idempotent producer's retries are counted (here the client's 5, as kafkajs'
 * own default is): a send that still fails is retried by its caller, which may write a record
 * twice. Loopline is at-least-once into idempotent sinks by design, so every service start warned
 * of a duplicate that its consumers already absorb.
 */
const EXPECTED_WARNINGS = new Set(["Limiting retries for the idempotent producer may invalidate EoS guarantees"]);

/** Builds the Kafka entry point. Nothing connects until a producer, consumer or admin call needs it. */
export function createKafka(options: KafkaOptions): KafkaKit {
  const log = options.logger.child({ component: "kafka" });
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    // For the connections of every client: a consumer's cluster gets these, not the consumer's own.
    retry: { ...RETRY_WAITS, retries: 5 },
    logLevel: LEVEL_FROM_NAME[options.clientLogLevel ?? "warn"],
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        const fields = { kafkajs: rest };
        if (level <= KafkaLogLevel.ERROR) log.error(message, fields);
        else if (level === KafkaLogLevel.WARN && !EXPECTED_WARNINGS.has(message)) log.warn(message, fields);
        else if (level === KafkaLogLevel.INFO) log.info(message, fields);
        else log.debug(message, fields);
      },
  });

  let admin: Admin | undefined;
  let adminConnecting: Promise<Admin> | undefined;
  const getAdmin = async (): Promise<Admin> => {
    if (admin !== undefined) return admin;
    adminConnecting ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      admin = a;
      return a;
    })().finally(() => {
      adminConnecting = undefined;
    });
    return adminConnecting;
  };

  const ping = async (): Promise<boolean> => {
    // A TCP connect first: while nothing listens, each probe would otherwise have kafkajs try
    // (and log) several connections, and answer only when the readiness check had timed out.
    if (!(await anyAcceptsConnections(options.brokers))) return false;
    try {
      const a = await getAdmin();
      await a.describeCluster();
      return true;
    } catch (err) {
      log.debug("kafka ping failed", { err });
      return false;
    }
  };
  let closed = false;
  return {
    createProducer: (producerOptions) => createProducer(kafka, log, producerOptions ?? {}),
    createConsumer: (consumerOptions) => createBatchConsumer(kafka, log, consumerOptions),
    ensureTopics: async (specs) => {
      const a = await getAdmin();
      const existing = new Set(await a.listTopics());
      const missing = specs.filter((s) => !existing.has(s.topic));
      if (missing.length === 0) return [];
      // Right after creation a broker can briefly answer "does not host this topic-partition" while
      // leaders are elected; that is worth a few short retries rather than a failed start.
      await withRetries(() => a.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor: -1,
          configEntries: [
            ...(s.compacted === true ? [{ name: "cleanup.policy", value: "compact" }] : []),
            ...Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
          ],
        })),
      }));
      log.info("topics created", { topics: missing.map((s) => s.topic) });
      return missing.map((s) => s.topic);
    },
    deleteTopics: async (topics) => {
      const a = await getAdmin();
      const existing = new Set(await a.listTopics());
      const present = topics.filter((t) => existing.has(t));
      if (present.length > 0) await a.deleteTopics({ topics: present });
    },
    listTopics: async () => (await getAdmin()).listTopics(),
    // Offsets are asked of each partition's leader; just after a topic is created (or a leader
    // moves) the broker can answer NOT_LEADER_FOR_PARTITION until its metadata settles.
    topicEndOffsets: async (topic) => {
      const a = await getAdmin();
      const offsets = await withRetries(() => a.fetchTopicOffsets(topic));
      return offsets.map((o) => ({ partition: o.partition, offset: o.high }));
    },
    groupOffsets: async (groupId, topic) => {
      const a = await getAdmin();
      const res = await withRetries(() => a.fetchOffsets({ groupId, topics: [topic] }));
      return (res[0]?.partitions ?? []).map((p) => ({ partition: p.partition, offset: p.offset }));
    },
    ping,
    waitUntilReachable: async () => {
      const started = Date.now();
      let reported = 0;
      for (let attempt = 1; ; attempt++) {
        if (closed) throw new Error("Kafka client closed while waiting for the cluster");
        if (await ping()) {
          if (attempt > 1) log.info("kafka reachable; starting", { brokers: options.brokers, waitedMs: Date.now() - started });
          return;
        }
        if (Date.now() - reported >= 30_000) {
          log.warn("kafka not reachable; waiting for it before starting", { brokers: options.brokers, waitedMs: Date.now() - started });
          reported = Date.now();
        }
        await sleep(Math.min(5_000, 250 * 2 ** Math.min(attempt, 5)));
      }
    },
    close: async () => {
      closed = true;
      const a = admin;
      admin = undefined;
      if (a !== undefined) await a.disconnect();
    },
  };
}

/** Whether any of the bootstrap servers ("host:port") accepts a TCP connection within a second. */
function anyAcceptsConnections(brokers: readonly string[]): Promise<boolean> {
  const one = (broker: string) =>
    new Promise<boolean>((resolve) => {
      const at = broker.lastIndexOf(":");
      const socket = connect({ host: broker.slice(0, at).replace(/^\[(.*)\]$/, "$1"), port: Number(broker.slice(at + 1)) });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(1000, () => done(false));
      socket.once("connect", () => done(true));
      socket.once("error", () => done(false));
    });
  return Promise.all(brokers.map(one)).then((results) => results.includes(true));
}

// ---------------------------------------------------------------------------------------------
// Producer

/** Options of a producer. */
export interface ProducerOptions {
  /** Compression of batches: "none" (default) or "gzip" (kafkajs ships only gzip built in). */
  compression?: "none" | "gzip";
  /**
   * Upper bound, in bytes, of the records one produce request carries (estimated from keys, values
   * and headers). Larger sends are split into consecutive requests, sent in order. Default
   * 900,000: under the broker's default message.max.bytes (1,048,588), which a single partition's
   * batch must not exceed; kafkajs itself never splits.
   */
  maxRequestBytes?: number;
}

/** Default of ProducerOptions.maxRequestBytes. */
export const DEFAULT_MAX_REQUEST_BYTES = 900_000;
// Per-record framing in a v2 record batch (length, attributes, deltas, key and value lengths,
// header count), rounded up.
const RECORD_OVERHEAD_BYTES = 24;

const byteSize = (v: string | Buffer | null | undefined): number => (v == null ? 0 : typeof v === "string" ? Buffer.byteLength(v) : v.length);

/** Estimated size of a record inside a produce request. */
export function recordBytes(r: OutgoingRecord): number {
  let n = RECORD_OVERHEAD_BYTES + byteSize(r.key) + byteSize(r.value);
  if (r.headers !== undefined) for (const k in r.headers) n += 8 + Buffer.byteLength(k) + byteSize(r.headers[k]);
  return n;
}

/**
 * Splits records, in order, into runs of at most maxBytes (estimated); a record larger than that
 * travels alone (and the broker's refusal then names the problem).
 */
export function splitBySize<T>(records: readonly T[], maxBytes: number, size: (r: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const r of records) {
    const n = size(r);
    if (current.length > 0 && bytes + n > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** A connected producer. Every send waits for all in-sync replicas (acks=all) and is idempotent. */
export interface KafkaProducer {
  /**
   * Publishes records to one topic; resolves once durable. Large sends go as several requests of at
   * most maxRequestBytes, in order; if one fails, the ones before it may already be durable (callers
   * are at-least-once anyway).
   */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  /** Publishes to several topics in one request per broker; resolves once durable. */
  sendBatch(batches: readonly { topic: string; records: readonly OutgoingRecord[] }[]): Promise<void>;
  /** Disconnects (after in-flight sends finish). */
  close(): Promise<void>;
}

/**
 * Kafka error types after which an idempotent producer's id and sequence numbers are of no more
 * use: the broker has lost or refuses the producer's state. kafkajs keeps both, so every later send
 * of that producer fails the same way. Exported for its test.
 */
export function lostProducerState(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 8; e = e.cause as typeof e, depth++) {
    if (e.type === "OUT_OF_ORDER_SEQUENCE_NUMBER" || e.type === "UNKNOWN_PRODUCER_ID" || e.type === "INVALID_PRODUCER_EPOCH") return true;
  }
  return false;
}

/** The producer createKafka hands out; exported for its test, which gives it a stand-in for kafkajs. */
export async function createProducer(kafka: Pick<Kafka, "producer">, log: Logger, options: ProducerOptions): Promise<KafkaProducer> {
  // Idempotence needs acks=-1 and, in kafkajs, one in-flight request per broker to keep sequence
  // numbers gapless; batching many records per request is how throughput is kept.
  const make = (): Producer =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
  let producer = make();
  await producer.connect();
  // A broker killed mid-request can come back out of step with the producer's sequence numbers and
  // answer OUT_OF_ORDER_SEQUENCE_NUMBER to every later send (seen in feature-ingest's broker-kill
  // test: one partition stuck for good). The failed send still fails, so its caller retries it, and
  // a new producer (new id, sequences from 0) takes over. (A producer id the broker expired after
  // producer.id.expiration.ms is not such a case: Kafka 4.3 accepted the next send, tried here.)
  let replacing: Promise<void> | undefined;
  const replace = (failed: Producer): Promise<void> => {
    if (failed !== producer) return replacing ?? Promise.resolve(); // replaced already
    replacing ??= (async () => {
      const fresh = make();
      await fresh.connect();
      producer = fresh;
      log.warn("the broker lost this producer's idempotence state; a new producer takes over");
      failed.disconnect().catch((err: unknown) => log.debug("old producer did not disconnect cleanly", { err }));
    })().finally(() => (replacing = undefined));
    return replacing;
  };
  const compression = options.compression === "gzip" ? 1 : 0;
  const maxBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  // Hot path: one message per published record (feature-ingest publishes one per event). Optional
  // fields are set only when given, without the temporary objects of conditional spreads.
  const toMessages = (records: readonly OutgoingRecord[]) =>
    records.map((r) => {
      const m: Message = { key: r.key ?? null, value: r.value };
      if (r.headers !== undefined) m.headers = r.headers as IHeaders;
      if (r.partition !== undefined) m.partition = r.partition;
      if (r.timestamp !== undefined) m.timestamp = String(r.timestamp);
      return m;
    });
  const wrap = async (what: (p: Producer) => Promise<unknown>): Promise<void> => {
    const p = producer;
    try {
      await what(p);
    } catch (err) {
      if (lostProducerState(err)) await replace(p).catch((e: unknown) => log.warn("could not start a new producer yet", { err: e }));
      throw new UnavailableError("kafka", `publish failed: ${describeError(err).message}`, { cause: err });
    }
  };
  return {
    send: async (topic, records) => {
      for (const chunk of splitBySize(records, maxBytes, recordBytes)) {
        await wrap((p) => p.send({ topic, acks: -1, compression, messages: toMessages(chunk) }));
      }
    },
    sendBatch: async (batches) => {
      // Flattened in order, split by size, regrouped by topic within each request.
      const flat = batches.flatMap((b) => b.records.map((record) => ({ topic: b.topic, record })));
      for (const chunk of splitBySize(flat, maxBytes, (e) => recordBytes(e.record))) {
        const byTopic = new Map<string, OutgoingRecord[]>();
        for (const { topic, record } of chunk) {
          const list = byTopic.get(topic);
          if (list === undefined) byTopic.set(topic, [record]);
          else list.push(record);
        }
        await wrap((p) =>
          p.sendBatch({ acks: -1, compression, topicMessages: [...byTopic].map(([topic, recs]) => ({ topic, messages: toMessages(recs) })) }),
        );
      }
    },
    close: async () => {
      await replacing?.catch(() => undefined);
      await producer.disconnect();
      log.debug("producer closed");
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Consumer

/** One partition's worth of records handed to a batch handler, in offset order. */
export interface RecordBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
  /** Records between the end of this batch and the partition's high watermark. */
  lag: number;
}

/** Context for a batch handler. */
export interface BatchContext {
  /** Sends a heartbeat; call it during long work so the group does not evict this consumer. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the partition was revoked: stop early, nothing is committed. */
  isRunning(): boolean;
  /** 1 for the first attempt, more when the batch is retried after an error. */
  attempt: number;
}

/** Handles a batch; the batch's offsets are committed only after it resolves. Throwing retries the batch. */
export type BatchHandler = (batch: RecordBatch, context: BatchContext) => Promise<void>;

/** Options of createConsumer. */
export interface BatchConsumerOptions {
  /** Consumer group. */
  groupId: string;
  /** Topics to subscribe to. */
  topics: readonly string[];
  /** The work; must be idempotent (delivery is at-least-once). */
  handler: BatchHandler;
  /** Where a group with no committed offset starts. Default true (earliest). */
  fromBeginning?: boolean;
  /** Partitions processed concurrently. Default 1. */
  partitionsConsumedConcurrently?: number;
  /** Max bytes fetched per partition per request. Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** Max wait for a fetch to fill. Default 100 ms (low latency). */
  maxWaitTimeMs?: number;
  /** Group session timeout. Default 30000 ms. */
  sessionTimeoutMs?: number;
  /** Handler attempts per batch before the consumer gives up and restarts. Default Infinity (retry with backoff). */
  maxAttempts?: number;
  /** First retry delay; doubles up to maxBackoffMs. Default 200 ms. */
  initialBackoffMs?: number;
  /** Retry delay ceiling. Default 10000 ms. */
  maxBackoffMs?: number;
  /**
   * Lets kafkajs fetch a partition's next batch while the handler works on the one before it
   * (default false). Without it the consumer alternates: fetch, handle every batch of the fetch,
   * commit, fetch again, and the process idles through each round trip. With it, a partition still
   * has one batch in its handler at a time, handled and committed in offset order, and the next
   * batch waits, fetched, until the one before it is committed: delivery stays at-least-once and
   * ordered per partition. Needs maxAttempts left at Infinity (a batch is retried in place).
   */
  pipeline?: boolean;
  /**
   * Commits each batch's offsets once its handler resolves. Default true. False suits a reader that
   * replays its topics from the start on every run under a throwaway group: it commits nothing,
   * so once the group is empty Kafka deletes it at its next offsets cleanup (every 10 minutes by
   * default) instead of keeping its offsets for a week.
   */
  commit?: boolean;
  /** Registers loopline_consumer_* metrics when given. */
  metrics?: Metrics;
  /**
   * Called after every (re)join of the group with the partitions now owned, per topic. Handlers that
   * keep per-partition state use it to drop state of partitions that may have moved.
   */
  onAssignment?: (assignment: Record<string, number[]>) => void;
}

/** A running batch consumer. */
export interface BatchConsumer {
  /** Connects, subscribes and starts consuming; resolves once running. */
  start(): Promise<void>;
  /**
   * Stops fetching, lets the batch in hand finish (committing it), leaves the group. A consumer
   * still joining is let go after a few seconds instead (the coordinator drops it later). Later
   * calls return the first one's promise.
   */
  close(): Promise<void>;
  /** Stops fetching the given topics until resume (backpressure). */
  pause(topics: readonly string[]): void;
  /** Resumes paused topics. */
  resume(topics: readonly string[]): void;
}

// Hot path: one call per consumed record.
function toRecord(topic: string, partition: number, m: { offset: string; key: Buffer | null; value: Buffer | null; headers?: IHeaders; timestamp: string }): ConsumedRecord {
  const headers: Record<string, Buffer> = {};
  const given = m.headers;
  if (given !== undefined) {
    for (const k in given) {
      const v = given[k];
      const last = Array.isArray(v) ? v[v.length - 1] : v;
      if (last !== undefined) headers[k] = Buffer.isBuffer(last) ? last : Buffer.from(last);
    }
  }
  return { topic, partition, offset: m.offset, key: m.key, value: m.value, headers, timestamp: Number(m.timestamp) };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Retries transient metadata errors (leader election after topic creation) a few times, waiting
 * 200 ms, 400 ms, ... between attempts; any other error is thrown at once. Exported for its test.
 */
export async function withRetries<T>(work: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (err) {
      const retriable = (err as { retriable?: boolean }).retriable === true || /does not host this topic-partition|LEADER_NOT_AVAILABLE|NOT_LEADER/i.test(describeError(err).message);
      if (!retriable || i >= attempts) throw err;
      await sleep(200 * i);
    }
  }
}

/**
 * How long close() waits for a pending join before it lets the consumer go: a healthy group
 * rebalances within a heartbeat interval (3 s) and a batch, and a service's shutdown grace is 15 s.
 */
const CLOSE_JOIN_WAIT_MS = 5_000;

function createBatchConsumer(kafka: Kafka, baseLog: Logger, options: BatchConsumerOptions): BatchConsumer {
  const log = baseLog.child({ groupId: options.groupId });
  let stopping = false;
  // Whether a JoinGroup of this consumer may be waiting at the coordinator: from a (re)start or a
  // rebalance until the join completes.
  let joining = false;
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: 3000,
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 100,
    allowAutoTopicCreation: false,
    // kafkajs restarts a consumer after a retriable crash even once it has been disconnected: a
    // JoinGroup still pending at close (see close below) answers on a closed connection, and the
    // consumer would come back for good. Not once close has been called.
    retry: { ...RETRY_WAITS, retries: 10, restartOnFailure: async () => !stopping },
  });
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  const initialBackoff = options.initialBackoffMs ?? 200;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  const m = options.metrics;
  const consumed = m?.counter("loopline_consumer_records_total", "Records handled and committed", ["topic"]);
  const failures = m?.counter("loopline_consumer_handler_errors_total", "Batch handler failures (the batch is retried)", ["topic"]);
  const lagGauge = m?.gauge("loopline_consumer_lag_records", "Records behind the high watermark after the last batch", ["topic", "partition"]);
  const restarts = m?.counter("loopline_consumer_restarts_total", "Consumer restarts after kafkajs stopped it on an error it does not retry", []);
  let closing: Promise<void> | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let crashesInARow = 0;
  if (options.pipeline === true && Number.isFinite(maxAttempts)) throw new Error("a pipelined consumer retries a failed batch in place: leave maxAttempts at Infinity");
  // Pipelined mode: per partition, the work of the batch in its handler (settles when committed or
  // abandoned). A rebalance bumps the generation: work started before it neither runs nor commits.
  const inFlight = new Map<string, Promise<void>>();
  let generation = 0;

  const waitWithHeartbeats = async (ms: number, heartbeat: () => Promise<void>, running: () => boolean) => {
    const until = Date.now() + ms;
    while (Date.now() < until && running()) {
      await sleep(Math.min(1000, until - Date.now()));
      await heartbeat().catch(() => undefined);
    }
  };

  // Runs the handler on a batch until it succeeds (backing off between attempts), then commits it.
  // Returns without committing once running() turns false (stopping, revoked): the next owner re-reads.
  const handleAndCommit = async (batch: Batch, running: () => boolean, heartbeat: () => Promise<void>, resolveOffset?: (offset: string) => void) => {
    const records = batch.messages.map((msg) => toRecord(batch.topic, batch.partition, msg));
    const lastOffset = batch.lastOffset();
    const lag = Number(batch.offsetLag());
    for (let attempt = 1; ; attempt++) {
      if (!running()) return;
      try {
        await options.handler({ topic: batch.topic, partition: batch.partition, records, lag }, { heartbeat, isRunning: running, attempt });
        break;
      } catch (err) {
        failures?.inc({ topic: batch.topic });
        if (attempt >= maxAttempts) {
          log.error("batch handler failed; giving up on this batch, the consumer restarts and re-reads it", { topic: batch.topic, partition: batch.partition, attempt, err });
          throw err;
        }
        const delay = Math.min(maxBackoff, initialBackoff * 2 ** (attempt - 1));
        log.warn("batch handler failed; retrying the same batch", { topic: batch.topic, partition: batch.partition, firstOffset: batch.firstOffset(), attempt, retryInMs: delay, err });
        await waitWithHeartbeats(delay, heartbeat, running);
      }
    }
    if (!running()) return;
    // Commit only now: the handler has made the batch durable. The commit stores the next offset to
    // read in the group (and, unpipelined, moves kafkajs' fetch position past the batch).
    resolveOffset?.(lastOffset);
    if (options.commit !== false) await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(lastOffset) + 1n).toString() }]);
    crashesInARow = 0;
    consumed?.inc({ topic: batch.topic }, records.length);
    lagGauge?.set({ topic: batch.topic, partition: String(batch.partition) }, lag);
  };

  const runConfig: ConsumerRunConfig = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
    eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
      if (batch.messages.length === 0) return;
      if (options.pipeline !== true) {
        const running = () => !stopping && isRunning() && !isStale();
        await handleAndCommit(batch, running, heartbeat, resolveOffset);
        return;
      }
      const lane = `${batch.topic}|${batch.partition}`;
      // The generation this batch was fetched in, read before waiting: a batch that waited here
      // through a rejoin comes from a fetch position the rejoin has since reset to the committed
      // offset. Handled, it would commit past records not yet handled again; the new generation
      // fetches it afresh instead.
      const fetchedIn = generation;
      await inFlight.get(lane); // the batch before this one: committed, or abandoned by a stop or rebalance
      const running = () => !stopping && generation === fetchedIn && isRunning();
      if (!running()) return;
      inFlight.set(
        lane,
        handleAndCommit(batch, running, heartbeat).catch((err: unknown) => {
          // Not the handler (retried in place) but the commit: the next owner, or this consumer
          // after its restart, re-reads from the last committed offset.
          log.warn("pipelined batch not committed", { topic: batch.topic, partition: batch.partition, err });
        }),
      );
      // Move kafkajs' fetch position past this batch so the next fetch starts now; nothing is
      // committed until the handler has made this batch durable.
      resolveOffset(batch.lastOffset());
    },
  };

  // kafkajs restarts a crashed consumer only when the error is one it retries. On any other (a
  // TypeError out of a handler, a group coordinator still missing after a broker restart, Kafka's
  // UNKNOWN_SERVER_ERROR; kafkajs#1443, #1445) it disconnects and stays stopped, and the process
  // would live on consuming nothing. Such a crash restarts it here, backing off while it repeats;
  // nothing was committed past the last durable batch, so the restart re-reads from there.
  const restartLater = (err: unknown) => {
    if (stopping) return;
    const delay = Math.min(maxBackoff, Math.max(initialBackoff, 1000) * 2 ** Math.min(crashesInARow++, 10));
    log.error("consumer stopped by an error kafkajs does not retry; restarting it", { retryInMs: delay, err });
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      restarts?.inc();
      joining = true;
      consumer
        .connect()
        .then(() => (stopping ? undefined : consumer.run(runConfig)))
        .catch((e: unknown) => restartLater(e));
    }, delay);
  };

  const closeOnce = async () => {
    stopping = true;
    clearTimeout(restartTimer);
    // kafkajs' disconnect waits for the connection's pending requests, and the coordinator holds
    // a JoinGroup until every member it knows has rejoined or timed out: after a broker restart,
    // members that could not leave count for a whole session timeout. A joining consumer holds
    // no partitions and no batch, so past a healthy rebalance's few seconds it is let go.
    const disconnected = consumer.disconnect();
    if (joining) {
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<"waiting">((resolve) => (timer = setTimeout(() => resolve("waiting"), CLOSE_JOIN_WAIT_MS)));
      const outcome = await Promise.race([disconnected.then(() => "left" as const), waited]).finally(() => clearTimeout(timer));
      if (outcome === "waiting") {
        log.warn("closed while joining the group: not waiting for the rebalance; the coordinator drops this member when its session times out", { waitedMs: CLOSE_JOIN_WAIT_MS, sessionTimeoutMs });
        disconnected.catch((err: unknown) => log.debug("the consumer's disconnect failed after close", { err }));
      }
    } else {
      await disconnected;
    }
    await Promise.all(inFlight.values()); // handlers in hand finish; with stopping set, nothing more commits
    log.info("consumer closed");
  };

  return {
    start: async () => {
      consumer.on(consumer.events.CRASH, (e) => {
        joining = e.payload.restart; // kafkajs rejoins at once when it restarts the consumer itself
        if (!e.payload.restart) restartLater(e.payload.error);
      });
      consumer.on(consumer.events.REBALANCING, () => (joining = true));
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        joining = false;
        generation++;
        if (options.onAssignment === undefined) return;
        log.info("partitions assigned", { assignment: e.payload.memberAssignment });
        options.onAssignment(e.payload.memberAssignment);
      });
      await consumer.connect();
      for (const topic of options.topics) {
        await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
      }
      joining = true;
      await consumer.run(runConfig);
      if (!stopping) log.info("consumer running", { topics: options.topics });
    },
    close: () => (closing ??= closeOnce()),
    pause: (topics) => consumer.pause(topics.map((topic) => ({ topic }))),
    resume: (topics) => consumer.resume(topics.map((topic) => ({ topic }))),
  };
}

// ---------------------------------------------------------------------------------------------
// Dead letters

/** Header names written on dead-letter records. */
export const DLQ_HEADERS = {
  reason: "loopline-dlq-reason",
  detail: "loopline-dlq-detail",
  sourceTopic: "loopline-dlq-source-topic",
  sourcePartition: "loopline-dlq-source-partition",
  sourceOffset: "loopline-dlq-source-offset",
  service: "loopline-dlq-service",
  time: "loopline-dlq-time",
} as const;

/** Why a record was dead-lettered: a stable code and a human detail naming the field at fault. */
export interface DeadLetterReason {
  /** Stable reason code, e.g. MISSING_FIELD. */
  code: string;
  /** Human detail, e.g. "field amount is missing". */
  detail: string;
}

/** Builds the dead-letter record for a consumed one: original key, bytes and headers plus the reason headers. */
export function deadLetterRecord(record: ConsumedRecord, reason: DeadLetterReason, service: string, now = Date.now()): OutgoingRecord {
  return {
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [DLQ_HEADERS.reason]: reason.code,
      [DLQ_HEADERS.detail]: reason.detail,
      [DLQ_HEADERS.sourceTopic]: record.topic,
      [DLQ_HEADERS.sourcePartition]: String(record.partition),
      [DLQ_HEADERS.sourceOffset]: record.offset,
      [DLQ_HEADERS.service]: service,
      [DLQ_HEADERS.time]: new Date(now).toISOString(),
    },
  };
}

/** Publishes dead letters for records of one source topic to `<topic>.dlq`; resolves once durable. */
export async function publishDeadLetters(
  producer: KafkaProducer,
  service: string,
  letters: readonly { record: ConsumedRecord; reason: DeadLetterReason }[],
): Promise<void> {
  const byTopic = new Map<string, OutgoingRecord[]>();
  for (const { record, reason } of letters) {
    const topic = dlqTopic(record.topic);
    let list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, (list = []));
    list.push(deadLetterRecord(record, reason, service));
  }
  await producer.sendBatch([...byTopic].map(([topic, records]) => ({ topic, records })));
}
