import { isUtf8 } from "node:buffer";
import { fromBinary, toJsonString } from "@bufbuild/protobuf";
import { DLQ_HEADERS, type ConsumedRecord } from "@loopline/kit";
import { decodeFeatureUpdate, fromFeatureValue, isProtobufContentType, parseRecordTime } from "@loopline/proto";
import { DriftReportSchema, RetrainDecisionSchema, type ColumnDrift } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import { EventSchema } from "@loopline/proto/gen/loopline/v1/events_pb.js";
import { ModelEventSchema, ModelEventType, ModelVersionSchema, Stage } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { labelRow, parseLabel } from "./labels.js";
import { decodePredictionRow, ROUTE_NAMES } from "./prediction-decoder.js";
import { float, millis, pushValue, seconds, type Mapped, type Rejection, type Row } from "./rows.js";
import { TABLE_OF, type TopicKind } from "./topics.js";

/** `dlq_partition` of a dead letter the sink recorded itself (the record never sat in a DLQ topic). */
export const SINK_DEAD_LETTER_PARTITION = 4_294_967_295;

/** The `service` of dead letters the sink records itself. */
export const SINK_SERVICE = "clickhouse-sink";

/** The dataset threshold of a DriftReport without drift_share (written before the field existed). */
const LEGACY_DRIFT_SHARE = 0.5;

const reject = (code: string, detail: string): Mapped => ({ rejected: { code, detail } });
const missing = (field: string, message: string): Mapped => reject("MISSING_FIELD", `field ${field} is missing from the ${message}`);
const malformed = (message: string, err: unknown): Mapped => reject("MALFORMED_PROTOBUF", `not a loopline.v1.${message}: ${(err as Error).message}`);
const lower = (name: string | undefined, n: number) => (name ?? String(n)).toLowerCase();
const origin = (r: ConsumedRecord) => ({ partition: r.partition, offset: r.offset });

/**
 * Maps one consumed record to rows of its table. Never throws: an undecodable or incomplete record is
 * returned as a rejection (recorded in dead_letters by the caller), a tombstone is skipped.
 * `ingestedAt` is DateTime seconds.
 */
export function mapRecord(kind: TopicKind, record: ConsumedRecord, ingestedAt: number): Mapped {
  if (record.value === null) {
    // Compacted topics (loopline.models) carry tombstones; elsewhere an empty record is a producer bug.
    return kind === "models" ? { skipped: true } : reject("EMPTY_RECORD", "the record has no value");
  }
  const value = record.value;
  const table = TABLE_OF[kind];
  switch (kind) {
    case "predictions": {
      let row: Row;
      try {
        row = decodePredictionRow(value, origin(record), ingestedAt);
      } catch (err) {
        return malformed("PredictionRecord", err);
      }
      if (row["request_id"] === "") return missing("request_id", "PredictionRecord");
      if (row["model"] === "") return missing("model", "PredictionRecord");
      return { table, rows: [row] };
    }
    case "features":
      return mapFeatureUpdate(value, record, ingestedAt);
    case "labels": {
      const parsed = parseLabel(value, record.headers["content-type"]?.toString("latin1"), record.timestamp);
      if ("rejected" in parsed) return parsed;
      return { table, rows: [labelRow(parsed, origin(record), ingestedAt)] };
    }
    case "drift":
      return mapDriftReport(value, ingestedAt);
    case "models":
      return mapModelEvent(value, ingestedAt);
    case "retrain":
      return mapRetrainDecision(value, ingestedAt);
    case "events":
      return mapEvent(record, value, ingestedAt);
    case "dlq":
      return { table, rows: [deadLetterRow(record, ingestedAt)] };
  }
}

function mapFeatureUpdate(value: Buffer, record: ConsumedRecord, ingestedAt: number): Mapped {
  let u;
  try {
    u = decodeFeatureUpdate(value);
  } catch (err) {
    return malformed("FeatureUpdate", err);
  }
  if (u.view === "") return missing("view", "FeatureUpdate");
  if (u.entityId === "") return missing("entity_id", "FeatureUpdate");
  const names: string[] = [];
  const columns = { numbers: [] as (number | string)[], strings: [] as string[] };
  const statuses: number[] = [];
  for (const name in u.values) {
    const v = u.values[name] ?? null;
    names.push(name);
    pushValue(columns, v);
    statuses.push(v === null ? 2 : 1); // Feast's NULL_VALUE / PRESENT
  }
  return {
    table: TABLE_OF.features,
    rows: [
      {
        record_id: u.sourceEventId,
        entity: u.entity,
        entity_id: u.entityId,
        view: u.view,
        event_time: seconds(u.asOf),
        event_time_ms: millis(u.asOf),
        revision: u.revision,
        feature_names: names,
        feature_numbers: columns.numbers,
        feature_strings: columns.strings,
        feature_statuses: statuses,
        source_topic: record.topic,
        source_partition: record.partition,
        source_offset: record.offset,
        ingested_at: ingestedAt,
      },
    ],
  };
}

function mapDriftReport(value: Buffer, ingestedAt: number): Mapped {
  let r;
  try {
    r = fromBinary(DriftReportSchema, value);
  } catch (err) {
    return malformed("DriftReport", err);
  }
  if (r.reportId === "") return missing("report_id", "DriftReport");
  const timeMs = Number(r.timeMs);
  const common = {
    report_id: r.reportId,
    time: seconds(timeMs),
    time_ms: millis(timeMs),
    model: r.model,
    model_version: r.modelVersion,
    route: ROUTE_NAMES[r.route] ?? String(r.route),
    segment: r.segment,
    window_start: seconds(Number(r.windowStartMs)),
    window_end: seconds(Number(r.windowEndMs)),
    ingested_at: ingestedAt,
  };
  const column = (kind: string, c: ColumnDrift): Row => ({
    ...common,
    kind,
    column: c.column,
    method: c.method,
    statistic: float(c.statistic),
    p_value: float(c.pValue ?? Number.NaN),
    threshold: float(c.threshold),
    drifted: c.drifted ? 1 : 0,
    n_reference: c.nReference.toString(),
    n_current: c.nCurrent.toString(),
    missing_share_reference: float(c.missingShareReference),
    missing_share_current: float(c.missingShareCurrent),
  });
  // Scalars of the report become rows too, so one table answers "drift over time" and "performance over time".
  const scalar = (kind: string, name: string, statistic: number, extra: Partial<Row> = {}): Row => ({
    ...common,
    kind,
    column: name,
    method: "",
    statistic: float(statistic),
    p_value: "nan",
    threshold: "nan",
    drifted: 0,
    n_reference: "0",
    n_current: r.nCurrent.toString(),
    missing_share_reference: 0,
    missing_share_current: 0,
    ...extra,
  });
  const rows: Row[] = r.features.map((c) => column("feature", c));
  if (r.prediction !== undefined) rows.push(column("prediction", r.prediction));
  rows.push(scalar("dataset", "drifted_share", r.driftedShare, { method: "share_of_drifted_columns", threshold: r.driftShare ?? LEGACY_DRIFT_SHARE, drifted: r.datasetDrift ? 1 : 0 }));
  const p = r.performance;
  if (p !== undefined && p.labelled > 0n) {
    const perf = { threshold: float(p.threshold), n_current: p.labelled.toString() };
    const metrics: [string, number][] = [
      ["accuracy", p.accuracy],
      ["precision", p.precision],
      ["recall", p.recall],
      ["log_loss", p.logLoss],
      ["calibration_error", p.calibrationError],
      ["positives", Number(p.positives)],
    ];
    if (p.auc !== undefined) metrics.push(["auc", p.auc]);
    for (const [name, v] of metrics) rows.push(scalar("performance", name, v, perf));
  }
  return { table: TABLE_OF.drift, rows };
}

function mapModelEvent(value: Buffer, ingestedAt: number): Mapped {
  let e;
  try {
    e = fromBinary(ModelEventSchema, value);
  } catch (err) {
    return malformed("ModelEvent", err);
  }
  if (e.model === "") return missing("model", "ModelEvent");
  const timeMs = Number(e.timeMs);
  let snapshot = "";
  if (e.snapshot !== undefined) {
    // The reference profile can be large and lives in the registry; the row keeps everything else.
    e.snapshot.referenceProfile = new Uint8Array(0);
    snapshot = toJsonString(ModelVersionSchema, e.snapshot);
  }
  return {
    table: TABLE_OF.models,
    rows: [
      {
        sequence: e.sequence.toString(),
        time: seconds(timeMs),
        time_ms: millis(timeMs),
        model: e.model,
        model_version: e.version,
        event_type: lower(ModelEventType[e.type], e.type),
        stage_from: lower(Stage[e.fromStage], e.fromStage),
        stage_to: lower(Stage[e.toStage], e.toStage),
        actor: e.actor,
        reason: e.reason,
        evidence: e.evidenceJson,
        alias: e.alias,
        snapshot_json: snapshot,
        ingested_at: ingestedAt,
      },
    ],
  };
}

function mapRetrainDecision(value: Buffer, ingestedAt: number): Mapped {
  let d;
  try {
    d = fromBinary(RetrainDecisionSchema, value);
  } catch (err) {
    return malformed("RetrainDecision", err);
  }
  if (d.decisionId === "") return missing("decision_id", "RetrainDecision");
  const timeMs = Number(d.timeMs);
  return {
    table: TABLE_OF.retrain,
    rows: [
      {
        decision_id: d.decisionId,
        time: seconds(timeMs),
        time_ms: millis(timeMs),
        model: d.model,
        model_version: d.modelVersion,
        policy: d.policy,
        action: d.action,
        reason: d.reason,
        evidence: d.evidenceJson,
        challenger_version: d.challengerVersion,
        ingested_at: ingestedAt,
      },
    ],
  };
}

/** Raw events are kept as they came (fields as JSON); validating them is feature-ingest's job. */
function mapEvent(record: ConsumedRecord, value: Buffer, ingestedAt: number): Mapped {
  let e: { eventId: string; entity: string; entityId: string; eventTimeMs: number; type: string; fields: Record<string, unknown> };
  if (isProtobufContentType(record.headers["content-type"])) {
    try {
      const pb = fromBinary(EventSchema, value);
      const fields: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(pb.fields)) fields[k] = fromFeatureValue(v);
      e = { eventId: pb.eventId, entity: pb.entity, entityId: pb.entityId, eventTimeMs: Number(pb.eventTimeMs), type: pb.type, fields };
    } catch (err) {
      return malformed("Event", err);
    }
  } else {
    let o: unknown;
    try {
      o = JSON.parse(value.toString("utf8"));
    } catch (err) {
      return reject("MALFORMED_JSON", (err as Error).message);
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) return reject("MALFORMED_JSON", "an event must be a JSON object");
    const obj = o as Record<string, unknown>;
    const str = (k: string) => (typeof obj[k] === "string" ? (obj[k] as string) : "");
    const fields = typeof obj["fields"] === "object" && obj["fields"] !== null ? (obj["fields"] as Record<string, unknown>) : {};
    e = { eventId: str("event_id"), entity: str("entity"), entityId: str("entity_id"), eventTimeMs: parseRecordTime(obj["event_time"]), type: str("type"), fields };
  }
  if (e.eventId === "") return missing("event_id", "event");
  if (Number.isNaN(e.eventTimeMs)) return reject("INVALID_FIELD", "field event_time must be epoch milliseconds or an RFC 3339 time");
  return {
    table: TABLE_OF.events,
    rows: [
      {
        event_id: e.eventId,
        entity: e.entity,
        entity_id: e.entityId,
        event_time: seconds(e.eventTimeMs),
        event_time_ms: millis(e.eventTimeMs),
        type: e.type,
        fields_json: JSON.stringify(e.fields),
        source_partition: record.partition,
        source_offset: record.offset,
        ingested_at: ingestedAt,
      },
    ],
  };
}

/** Original bytes as text when they are UTF-8, else base64 (the `value_encoding` column says which). */
function encodeBytes(bytes: Buffer | null): { text: string; encoding: "utf8" | "base64" } {
  if (bytes === null) return { text: "", encoding: "utf8" };
  return isUtf8(bytes) ? { text: bytes.toString("utf8"), encoding: "utf8" } : { text: bytes.toString("base64"), encoding: "base64" };
}

const DLQ_HEADER_NAMES = new Set<string>(Object.values(DLQ_HEADERS));

function headersJson(headers: Record<string, Buffer>, skipDlq: boolean): string {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!skipDlq || !DLQ_HEADER_NAMES.has(k)) out[k] = v.toString("utf8");
  return JSON.stringify(out);
}

/** A record of a `<topic>.dlq` topic as a `dead_letters` row: source and reason from the DLQ headers. */
export function deadLetterRow(record: ConsumedRecord, ingestedAt: number): Row {
  const h = (name: string) => record.headers[name]?.toString("utf8");
  const value = encodeBytes(record.value);
  const headerTime = Date.parse(h(DLQ_HEADERS.time) ?? "");
  const sourcePartition = Number(h(DLQ_HEADERS.sourcePartition));
  const sourceOffset = h(DLQ_HEADERS.sourceOffset) ?? "";
  return {
    source_topic: h(DLQ_HEADERS.sourceTopic) ?? record.topic.replace(/\.dlq$/, ""),
    source_partition: Number.isInteger(sourcePartition) && sourcePartition >= 0 ? sourcePartition : 0,
    source_offset: /^\d+$/.test(sourceOffset) ? sourceOffset : "0",
    // The letter's own time (not the sink's clock) so a redelivered letter lands in the same partition.
    time: seconds(Number.isNaN(headerTime) ? record.timestamp : headerTime),
    service: h(DLQ_HEADERS.service) ?? "",
    reason: h(DLQ_HEADERS.reason) ?? "UNKNOWN",
    detail: h(DLQ_HEADERS.detail) ?? "",
    record_key: record.key?.toString("utf8") ?? "",
    record_value: value.text,
    value_encoding: value.encoding,
    headers_json: headersJson(record.headers, true),
    dlq_partition: record.partition,
    dlq_offset: record.offset,
    ingested_at: ingestedAt,
  };
}

/** A record the sink could not map, as a `dead_letters` row of service clickhouse-sink. */
export function rejectedRow(record: ConsumedRecord, rejection: Rejection, ingestedAt: number): Row {
  const value = encodeBytes(record.value);
  return {
    source_topic: record.topic,
    source_partition: record.partition,
    source_offset: record.offset,
    time: seconds(record.timestamp),
    service: SINK_SERVICE,
    reason: rejection.code,
    detail: rejection.detail,
    record_key: record.key?.toString("utf8") ?? "",
    record_value: value.text,
    value_encoding: value.encoding,
    headers_json: headersJson(record.headers, false),
    // Not from a DLQ topic: a sentinel partition keeps the row's key apart from any real DLQ position.
    dlq_partition: SINK_DEAD_LETTER_PARTITION,
    dlq_offset: "0",
    ingested_at: ingestedAt,
  };
}
