import { randomUUID } from "node:crypto";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  builtinRegistry,
  createEventValidator,
  formatFeatureRef,
  isNewerUpdate,
  parseEventTime,
  replayEvents,
  servedValues,
  type Event,
  type FeatureUpdate,
  type FeatureView,
} from "@loopline/features";
import { decodeRecord } from "@loopline/feature-ingest/decode";
import { commonConfigSchema, createKafka, defineConfig, describeError, loadConfig, silentLogger, topicName, type ConsumedRecord, type KafkaKit } from "@loopline/kit";
import { createClient, fromFeatureValue, type Client } from "@loopline/proto";
import { FeatureStore } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { out, parseFlags, reportFailure, stringFlag, UsageError, type Command, type CommandIO } from "./commands.js";
import { replayJson, replayText, sameServed, compareSummary, type EntityReport, type ReplayReport, type StoredCell } from "./replay-format.js";

/** Variables of `loopline replay` besides the shared LOOPLINE_KAFKA_BROKERS and LOOPLINE_TOPIC_PREFIX. */
export const replayConfigSchema = defineConfig({
  featureStoreAddress: { type: "string", env: "LOOPLINE_FEATURE_STORE_ADDRESS", default: "127.0.0.1:50051", doc: "feature-store gRPC address (--compare)" },
  maxEventBytes: { type: "int", env: "LOOPLINE_FEATURE_INGEST_MAX_EVENT_BYTES", default: 65_536, min: 256, doc: "as feature-ingest: larger events are counted as OVERSIZE" },
  maxClockSkewMs: { type: "duration", env: "LOOPLINE_FEATURE_INGEST_MAX_CLOCK_SKEW", default: 300_000, doc: "as feature-ingest: events further ahead of their record's timestamp are counted as FUTURE_EVENT_TIME" },
});

const USAGE = "VIEW ENTITY_ID... [--at TIME] [--compare] [--json]";
const PATH = ["replay"] as const;
/** Exit code of --compare when the store disagrees with the replay. */
export const EXIT_DIFFERENT = 3;
/** How long the Kafka probe may take before the brokers count as unreachable. */
const PROBE_TIMEOUT_MS = 10_000;
/** Reading gives up waiting for a partition after this long without a record (see readEntityRecords). */
const STALL_MS = 30_000;
const PROGRESS_INTERVAL_MS = 2_000;
/** Entities per GetOnlineFeatures call (feature-store's LOOPLINE_FEATURE_STORE_MAX_ENTITIES defaults to 1000). */
const STORE_CHUNK = 100;
const STORE_TIMEOUT_MS = 30_000;

/** A failure that is not a usage mistake: printed as one line, exit code 1. */
class ReplayFailure extends Error {
  override name = "ReplayFailure";
}

/** What the command line asks for. */
export interface ReplayArgs {
  view: FeatureView;
  entityIds: string[];
  /** --at in epoch ms; undefined: now. */
  at: number | undefined;
  compare: boolean;
  json: boolean;
}

/** Parses --at: epoch milliseconds or an RFC 3339 (ISO-8601) date-time, as event times are. */
export function parseAt(text: string): number {
  const parsed = parseEventTime(/^\d+$/.test(text) ? Number(text) : text);
  if (!parsed.ok) throw new UsageError(`--at: ${parsed.message}`);
  return parsed.ms;
}

function knownViews(): string {
  return builtinRegistry.views.map((v) => v.name).join(", ");
}

/** Parses the arguments of `loopline replay`; throws UsageError on anything it does not take. */
export function parseReplayArgs(args: readonly string[]): ReplayArgs {
  const { positional, flags } = parseFlags(args, ["at", "compare", "json"]);
  for (const name of ["compare", "json"]) {
    const value = flags.get(name);
    if (value !== undefined && value !== true) throw new UsageError(`--${name} takes no value (entity ids go before the flags)`);
  }
  const [viewName, ...ids] = positional;
  if (viewName === undefined || viewName === "") throw new UsageError(`VIEW is required (known views: ${knownViews()})`);
  const view = builtinRegistry.views.find((v) => v.name === viewName);
  if (view === undefined) throw new UsageError(`unknown view "${viewName}" (known views: ${knownViews()})`);
  const entityIds = [...new Set(ids)];
  if (entityIds.length === 0) throw new UsageError("at least one ENTITY_ID is required");
  if (entityIds.includes("")) throw new UsageError("ENTITY_ID must not be empty");
  const at = stringFlag(flags, "at");
  return { view, entityIds, at: at === undefined ? undefined : parseAt(at), compare: flags.has("compare"), json: flags.has("json") };
}

/** A raw record as feature-ingest sees it: a valid event, or the reason it is dead-lettered. */
export type RecordOutcome = { ok: true; event: Event } | { ok: false; reason: string };

/** Options of createRecordDecoder: feature-ingest's limits. */
export interface RecordDecoderOptions {
  /** Views events are validated against (feature-ingest's default: every built-in view). */
  views: readonly FeatureView[];
  /** Larger JSON events are OVERSIZE. */
  maxEventBytes: number;
  /** Events further ahead of their record's timestamp are FUTURE_EVENT_TIME. */
  maxClockSkewMs: number;
}

/**
 * Decodes and validates records as feature-ingest does (JSON, or protobuf by the content-type
 * header; a tombstone is MALFORMED_JSON). The future-time check is against the record's timestamp,
 * the nearest thing to the clock feature-ingest read it with.
 */
export function createRecordDecoder(options: RecordDecoderOptions): (record: Pick<ConsumedRecord, "value" | "headers" | "timestamp">) => RecordOutcome {
  let recordTime = 0;
  const validator = createEventValidator({ views: options.views, maxEventBytes: options.maxEventBytes, maxClockSkew: options.maxClockSkewMs, now: () => recordTime });
  return (record) => {
    recordTime = record.timestamp;
    const decoded = decodeRecord(record, validator);
    return decoded.ok ? decoded : { ok: false, reason: decoded.code };
  };
}

/** One asked entity's input to replay: its valid events in topic order, and its refused records by reason. */
export interface EntityEvents {
  events: Event[];
  invalid: Map<string, number>;
}

/**
 * Sorts records (in topic order) into the asked entities: a record counts for the entity its key
 * names; a valid event also needs that entity id and an (entity, type) the view consumes.
 */
export function collectEntityEvents(
  records: Iterable<Pick<ConsumedRecord, "key" | "value" | "headers" | "timestamp">>,
  view: FeatureView,
  entityIds: readonly string[],
  decode: ReturnType<typeof createRecordDecoder>,
): Map<string, EntityEvents> {
  const byEntity = new Map(entityIds.map((id) => [id, { events: [] as Event[], invalid: new Map<string, number>() }]));
  for (const record of records) {
    const entity = record.key === null ? undefined : byEntity.get(record.key.toString());
    if (entity === undefined) continue;
    const outcome = decode(record);
    if (!outcome.ok) entity.invalid.set(outcome.reason, (entity.invalid.get(outcome.reason) ?? 0) + 1);
    else if (outcome.event.entity === view.entity && view.sourceTypes.includes(outcome.event.type)) byEntity.get(outcome.event.entityId)?.events.push(outcome.event);
  }
  return byEntity;
}

/**
 * Replays one entity's events through the engine and serves the result at `at` as feature-store
 * would: the newest version (by asOf, revision) with asOf ≤ `at` when `at` is given (an as-of read),
 * else the newest of all, with statuses at `at ?? now`.
 */
export function replayEntity(view: FeatureView, entityId: string, input: EntityEvents, at: number | undefined, now: number): EntityReport {
  const { updates, rejections } = replayEvents(view, input.events);
  let served: FeatureUpdate | undefined;
  for (const u of updates) if ((at === undefined || u.asOf <= at) && isNewerUpdate(u, served)) served = u;
  const invalid = new Map(input.invalid);
  let duplicates = 0;
  for (const r of rejections) {
    if (r.code === "DUPLICATE") duplicates++;
    else invalid.set(r.code, (invalid.get(r.code) ?? 0) + 1);
  }
  const { values, statuses } = servedValues(view, served, at ?? now);
  return {
    entityId,
    watermark: served?.asOf ?? null,
    accepted: updates.length,
    duplicates,
    invalid: Object.fromEntries([...invalid].sort(([a], [b]) => (a < b ? -1 : 1))),
    features: view.features.map((f) => ({ name: f.name, value: values[f.name] ?? null, status: statuses[f.name] ?? "NOT_FOUND" })),
  };
}

/** Marks each feature of the report with the store's cell (entity → feature → cell) and whether they agree. */
export function applyStore(report: ReplayReport, stored: ReadonlyMap<string, ReadonlyMap<string, StoredCell>>): ReplayReport {
  const missing: StoredCell = { value: null, status: "MISSING", watermark: null };
  return {
    ...report,
    compared: true,
    entities: report.entities.map((e) => ({
      ...e,
      features: e.features.map((f) => {
        const store = stored.get(e.entityId)?.get(f.name) ?? missing;
        return { ...f, store, equal: sameServed(f, store) };
      }),
    })),
  };
}

async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(onTimeout), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Records of a read, and partitions given up on short of their end offset. */
interface ReadResult {
  records: ConsumedRecord[];
  recordsRead: number;
  incomplete: number[];
}

/**
 * Reads `topic` from the beginning up to the end offsets taken now, keeping the records keyed by
 * one of `keys`, under a throwaway group that commits nothing. The kit subscribes consumers to
 * whole topics, so every partition is read; records of other keys are dropped before decoding.
 * A partition with no record for STALL_MS while short of its end (its records deleted by
 * retention: the kit reports no log-start offsets) is given up on and named in the result.
 */
async function readEntityRecords(kafka: KafkaKit, topic: string, keys: ReadonlySet<string>, io: CommandIO, brokers: string): Promise<ReadResult> {
  const ends = new Map((await kafka.topicEndOffsets(topic)).map((p) => [p.partition, Number(p.offset)]));
  const pending = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
  const records: ConsumedRecord[] = [];
  const result: ReadResult = { records, recordsRead: 0, incomplete: [] };
  if (pending.size === 0) return result;
  const total = [...ends.values()].reduce((a, b) => a + b, 0);
  const position = new Map<number, number>();
  let lastProgress = Date.now();
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const consumer = kafka.createConsumer({
    groupId: `loopline-replay-${randomUUID()}`,
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
        if (r.key !== null && keys.has(r.key.toString())) records.push(r);
      }
      lastProgress = Date.now();
      if ((position.get(batch.partition) ?? 0) >= end) pending.delete(batch.partition);
      if (pending.size === 0) finish();
    },
  });
  const read = () => [...position.values()].reduce((a, b) => a + b, 0);
  const progress = setInterval(() => io.err(`loopline replay: read ${read()}/${total} records of ${topic}\n`), PROGRESS_INTERVAL_MS);
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
    if (!(await withTimeout(kafka.ping(), PROBE_TIMEOUT_MS, false))) throw new ReplayFailure(`Kafka stopped answering at ${brokers} (LOOPLINE_KAFKA_BROKERS) while reading ${topic}`);
    result.incomplete = [...pending].sort((a, b) => a - b);
    io.err(`loopline replay: warning: partition(s) ${result.incomplete.join(", ")} of ${topic} gave no records for ${STALL_MS / 1000}s short of their end offsets (deleted by retention?); replaying what was read\n`);
  }
  return result;
}

/** Reads the report's entities and features from feature-store (as of `at` when given). */
async function readStore(client: Client<typeof FeatureStore>, view: FeatureView, entityIds: readonly string[], at: number | undefined): Promise<Map<string, Map<string, StoredCell>>> {
  const features = view.features.map((f) => formatFeatureRef({ view: view.name, feature: f.name }));
  const stored = new Map<string, Map<string, StoredCell>>();
  for (let i = 0; i < entityIds.length; i += STORE_CHUNK) {
    const ids = entityIds.slice(i, i + STORE_CHUNK);
    const res = await client.getOnlineFeatures({ entity: view.entity, entityIds: ids, features, ...(at !== undefined ? { asOf: timestampFromMs(at) } : {}) });
    for (const [j, id] of ids.entries()) {
      const cells = new Map<string, StoredCell>();
      for (const column of res.columns) {
        const status = FeatureStatus[column.statuses[j] ?? FeatureStatus.UNSPECIFIED] ?? "UNSPECIFIED";
        const eventTime = Number(column.eventTimeMs[j] ?? 0n);
        cells.set(column.ref.slice(view.name.length + 1), { value: fromFeatureValue(column.values[j]), status, watermark: eventTime === 0 ? null : eventTime });
      }
      stored.set(id, cells);
    }
  }
  return stored;
}

/** `loopline replay VIEW ENTITY_ID...`: recomputes a view's features from the raw events, optionally against feature-store. */
export const replayCommand: Command = {
  path: PATH,
  summary: `recompute a view's features for entities from the raw events on Kafka with the stream's engine; --compare checks feature-store (exit ${EXIT_DIFFERENT} when it differs)`,
  usage: USAGE,
  run: async (args, io) => {
    let storeAddress: string | undefined;
    try {
      const parsed = parseReplayArgs(args);
      const config = loadConfig({ ...replayConfigSchema, kafkaBrokers: commonConfigSchema.kafkaBrokers, topicPrefix: commonConfigSchema.topicPrefix }, io.env);
      storeAddress = config.featureStoreAddress;
      const brokers = config.kafkaBrokers.join(",");
      const topic = topicName(config.topicPrefix, "events");
      const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: "loopline-replay", logger: silentLogger, clientLogLevel: "error" });
      let read: ReadResult;
      try {
        if (!(await withTimeout(kafka.ping(), PROBE_TIMEOUT_MS, false))) throw new ReplayFailure(`Kafka is not reachable at ${brokers} (LOOPLINE_KAFKA_BROKERS)`);
        if (!(await kafka.listTopics()).includes(topic)) throw new ReplayFailure(`topic ${topic} does not exist (LOOPLINE_TOPIC_PREFIX is "${config.topicPrefix}")`);
        read = await readEntityRecords(kafka, topic, new Set(parsed.entityIds), io, brokers);
      } catch (err) {
        if (err instanceof ReplayFailure) throw err;
        throw new ReplayFailure(`reading ${topic} from ${brokers} (LOOPLINE_KAFKA_BROKERS) failed: ${describeError(err).message.split("\n")[0] ?? ""}`);
      } finally {
        await kafka.close().catch(() => undefined);
      }

      const decode = createRecordDecoder({ views: builtinRegistry.views, maxEventBytes: config.maxEventBytes, maxClockSkewMs: config.maxClockSkewMs });
      const byEntity = collectEntityEvents(read.records, parsed.view, parsed.entityIds, decode);
      // "Now" is taken after the read, right before the store is asked, so both serve the same instant.
      const now = Date.now();
      let report: ReplayReport = {
        view: parsed.view.name,
        topic,
        at: parsed.at ?? now,
        atGiven: parsed.at !== undefined,
        recordsRead: read.recordsRead,
        incompletePartitions: read.incomplete,
        compared: false,
        entities: parsed.entityIds.map((id) => replayEntity(parsed.view, id, byEntity.get(id) ?? { events: [], invalid: new Map() }, parsed.at, now)),
      };
      if (parsed.compare) {
        const client = createClient(FeatureStore, config.featureStoreAddress, { timeoutMs: STORE_TIMEOUT_MS });
        try {
          report = applyStore(report, await readStore(client, parsed.view, parsed.entityIds, parsed.at));
        } finally {
          client.close();
        }
      }
      out(io, parsed.json ? replayJson(report) : replayText(report));
      return report.compared && compareSummary(report).different > 0 ? EXIT_DIFFERENT : 0;
    } catch (err) {
      if (err instanceof ReplayFailure) {
        io.err(`loopline replay: ${err.message}\n`);
        return 1;
      }
      return reportFailure(io, PATH, USAGE, err, { what: "feature-store", address: storeAddress, variable: "LOOPLINE_FEATURE_STORE_ADDRESS" });
    }
  },
};
