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
import { commonConfigSchema, defineConfig, loadConfig, type ConsumedRecord } from "@loopline/kit";
import { createClient, type Client } from "@loopline/proto";
import { FeatureStore } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { out, parseFlags, reportFailure, stringFlag, switchFlag, UsageError, type Command } from "./commands.js";
import { CommandFailure, readTopics } from "./topic-read.js";
import { replayJson, replayText, sameServed, compareSummary, storedCell, type EntityReport, type ReplayReport, type StoredCell } from "./replay-format.js";

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
/** Entities per GetOnlineFeatures call (feature-store's LOOPLINE_FEATURE_STORE_MAX_ENTITIES defaults to 1000). */
const STORE_CHUNK = 100;
const STORE_TIMEOUT_MS = 30_000;

/** What the command line asks for. */
export interface ReplayArgs {
  view: FeatureView;
  entityIds: string[];
  /** --at in epoch ms; undefined: now. */
  at: number | undefined;
  compare: boolean;
  json: boolean;
}

/** Parses --at (or `flag`): epoch milliseconds or an RFC 3339 (ISO-8601) date-time, as event times are. */
export function parseAt(text: string, flag = "--at"): number {
  const parsed = parseEventTime(/^\d+$/.test(text) ? Number(text) : text);
  if (!parsed.ok) throw new UsageError(`${flag}: ${parsed.message}`);
  return parsed.ms;
}

function knownViews(): string {
  return builtinRegistry.views.map((v) => v.name).join(", ");
}

/** Parses the arguments of `loopline replay`; throws UsageError on anything it does not take. */
export function parseReplayArgs(args: readonly string[]): ReplayArgs {
  const { positional, flags } = parseFlags(args, ["at", "compare", "json"]);
  const compare = switchFlag(flags, "compare", "entity ids go before the flags");
  const json = switchFlag(flags, "json", "entity ids go before the flags");
  const [viewName, ...ids] = positional;
  if (viewName === undefined || viewName === "") throw new UsageError(`VIEW is required (known views: ${knownViews()})`);
  const view = builtinRegistry.views.find((v) => v.name === viewName);
  if (view === undefined) throw new UsageError(`unknown view "${viewName}" (known views: ${knownViews()})`);
  const entityIds = [...new Set(ids)];
  if (entityIds.length === 0) throw new UsageError("at least one ENTITY_ID is required");
  if (entityIds.includes("")) throw new UsageError("ENTITY_ID must not be empty");
  const at = stringFlag(flags, "at");
  return { view, entityIds, at: at === undefined ? undefined : parseAt(at), compare, json };
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

/** Reads the report's entities and features from feature-store (as of `at` when given). */
async function readStore(client: Client<typeof FeatureStore>, view: FeatureView, entityIds: readonly string[], at: number | undefined): Promise<Map<string, Map<string, StoredCell>>> {
  const features = view.features.map((f) => formatFeatureRef({ view: view.name, feature: f.name }));
  const stored = new Map<string, Map<string, StoredCell>>();
  for (let i = 0; i < entityIds.length; i += STORE_CHUNK) {
    const ids = entityIds.slice(i, i + STORE_CHUNK);
    const res = await client.getOnlineFeatures({ entity: view.entity, entityIds: ids, features, ...(at !== undefined ? { asOf: timestampFromMs(at) } : {}) });
    for (const [j, id] of ids.entries()) {
      const cells = new Map<string, StoredCell>();
      for (const column of res.columns) cells.set(column.ref.slice(view.name.length + 1), storedCell(column, j));
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
      const wanted = new Set(parsed.entityIds);
      const [read] = await readTopics(config, [{ base: "events", keep: (r) => r.key !== null && wanted.has(r.key.toString()) }], io, "replay");
      if (read === undefined) throw new CommandFailure("no read of the events topic");
      const topic = read.topic;

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
      if (err instanceof CommandFailure) {
        io.err(`loopline replay: ${err.message}\n`);
        return 1;
      }
      return reportFailure(io, PATH, USAGE, err, { what: "feature-store", address: storeAddress, variable: "LOOPLINE_FEATURE_STORE_ADDRESS" });
    }
  },
};
