import type { FeatureValue } from "@loopline/features";
import { fromFeatureValue } from "@loopline/proto";
import type { FeatureColumn } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { table } from "./commands.js";
import { featureStatusText } from "./predict-command.js";

/** What feature-store served for one feature of one entity. */
export interface StoredCell {
  /** The served value (the feature's default when not PRESENT/NULL_VALUE). */
  value: FeatureValue;
  /** PRESENT, NULL_VALUE, NOT_FOUND or OUTSIDE_MAX_AGE (the store's FeatureStatus name). */
  status: string;
  /** As-of time of the stored version, epoch ms; null when not found. */
  watermark: number | null;
}

/** One feature of one entity: the replayed value as served at `at`, and the store's when compared. */
export interface FeatureRow {
  name: string;
  value: FeatureValue;
  status: string;
  /** Present with --compare. */
  store?: StoredCell;
  /** Present with --compare: whether the store agrees (see `sameServed`). */
  equal?: boolean;
}

/** One asked entity after replay. */
export interface EntityReport {
  entityId: string;
  /** Watermark (latest accepted event time) of the version served at `at`; null when none. */
  watermark: number | null;
  /** Events the view accepted. */
  accepted: number;
  /** Redeliveries (same event_id) skipped, as feature-ingest skips them. */
  duplicates: number;
  /** Records refused, by the reason feature-ingest dead-letters them with. */
  invalid: Record<string, number>;
  features: FeatureRow[];
}

/** Everything `loopline replay` prints. */
export interface ReplayReport {
  view: string;
  topic: string;
  /** The instant values are served at, epoch ms. */
  at: number;
  /** Whether `at` came from --at (else: now). */
  atGiven: boolean;
  /** Records read, up to the end offsets taken when the command started. */
  recordsRead: number;
  /** Partitions that stopped short of their end offset (records deleted by retention, or a stall). */
  incompletePartitions: number[];
  compared: boolean;
  entities: EntityReport[];
}

/**
 * Whether the store serves what replay computed: the same value (numbers bit for bit, as the store
 * keeps the engine's doubles) and the same status. One exception: a value replay finds outside its
 * max age may already be deleted from the store (NOT_FOUND), which serves the same default.
 */
export function sameServed(replayed: { value: FeatureValue; status: string }, stored: { value: FeatureValue; status: string }): boolean {
  if (!Object.is(replayed.value, stored.value)) return false;
  return replayed.status === stored.status || (replayed.status === "OUTSIDE_MAX_AGE" && stored.status === "NOT_FOUND");
}

/** Counts of a compared report, and the differing cells as "entity feature". */
export function compareSummary(report: ReplayReport): { equal: number; different: number; differences: string[] } {
  let equal = 0;
  const differences: string[] = [];
  for (const e of report.entities) {
    for (const f of e.features) {
      if (f.equal === true) equal++;
      else if (f.equal === false) differences.push(`${e.entityId} ${f.name}`);
    }
  }
  return { equal, different: differences.length, differences };
}

/** Entity j's cell of a GetOnlineFeatures column: its value, its status by name, and its as-of time. */
export function storedCell(column: FeatureColumn, j: number): StoredCell {
  const eventTime = Number(column.eventTimeMs[j] ?? 0n);
  return { value: fromFeatureValue(column.values[j]), status: featureStatusText(column.statuses[j] ?? FeatureStatus.UNSPECIFIED), watermark: eventTime === 0 ? null : eventTime };
}

/** A value as text: numbers as JavaScript prints them (shortest exact form), strings quoted, null as null. */
export function valueText(value: FeatureValue): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** Epoch ms as ISO-8601 to the millisecond (event times need it; models-format's timeText stops at seconds); "-" for null. */
export function instantText(ms: number | null): string {
  return ms === null ? "-" : new Date(ms).toISOString();
}

function countsText(e: EntityReport): string {
  const invalid = Object.entries(e.invalid).sort(([a], [b]) => (a < b ? -1 : 1));
  const refused = invalid.length === 0 ? "invalid 0" : `invalid: ${invalid.map(([reason, n]) => `${reason} ${n}`).join(", ")}`;
  return `accepted ${e.accepted}, duplicates ${e.duplicates}, ${refused}`;
}

/** Most differing cells named in the summary line. */
const NAMED_DIFFERENCES = 10;

/** The summary line of --compare. */
export function summaryLine(report: ReplayReport): string {
  const { equal, different, differences } = compareSummary(report);
  const total = `${report.entities.length} entities × ${report.entities[0]?.features.length ?? 0} features`;
  if (different === 0) return `compare: all ${equal} values equal (${total})`;
  const named = differences.slice(0, NAMED_DIFFERENCES).join(", ") + (different > NAMED_DIFFERENCES ? ", …" : "");
  return `compare: ${equal} equal, ${different} DIFFERENT (${total}): ${named}`;
}

/** The text output: a header, then per entity its counts and a feature table, then the compare summary. */
export function replayText(report: ReplayReport): string {
  const at = `${instantText(report.at)}${report.atGiven ? "" : " (now)"}`;
  const lines = [`${report.view} replayed from ${report.topic} at ${at}: ${report.recordsRead} records read up to the end offsets taken at start`];
  for (const e of report.entities) {
    lines.push("", `${e.entityId}  watermark ${instantText(e.watermark)}  ${countsText(e)}`);
    const headers = report.compared ? ["FEATURE", "VALUE", "STATUS", "STORE", "STORE STATUS", "MATCH"] : ["FEATURE", "VALUE", "STATUS"];
    const rows = e.features.map((f) => {
      const replayed = [f.name, valueText(f.value), f.status];
      if (!report.compared) return replayed;
      return [...replayed, f.store === undefined ? "-" : valueText(f.store.value), f.store?.status ?? "-", f.equal === true ? "equal" : "DIFFERENT"];
    });
    lines.push(table(headers, rows));
  }
  if (report.compared) lines.push("", summaryLine(report));
  return lines.join("\n");
}

/** The --json output: one object with stable field names (times as epoch ms). */
export function replayJson(report: ReplayReport): string {
  const body: Record<string, unknown> = {
    view: report.view,
    topic: report.topic,
    at: report.at,
    recordsRead: report.recordsRead,
    incompletePartitions: report.incompletePartitions,
    entities: report.entities.map((e) => ({
      entityId: e.entityId,
      watermark: e.watermark,
      accepted: e.accepted,
      duplicates: e.duplicates,
      invalid: e.invalid,
      features: e.features.map((f) => ({
        name: f.name,
        value: f.value,
        status: f.status,
        ...(f.store !== undefined ? { store: f.store } : {}),
        ...(f.equal !== undefined ? { equal: f.equal } : {}),
      })),
    })),
  };
  if (report.compared) {
    const { equal, different } = compareSummary(report);
    body["compare"] = { equal, different };
  }
  return JSON.stringify(body);
}
