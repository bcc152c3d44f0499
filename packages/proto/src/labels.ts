import { fromBinary } from "@bufbuild/protobuf";
import { mediaType, PROTOBUF_CONTENT_TYPE } from "./content-type.js";
import { LabelSchema } from "./gen/loopline/v1/predictions_pb.js";

/**
 * The one reading of a record on loopline.labels, shared by every consumer (clickhouse-sink stores
 * labels, drift-monitor joins them to predictions, `loopline train` trains on them): a label one of
 * them accepts, the others read the same way, and a bad one gets the same reason from each. Until
 * 2026-12 the sink and drift-monitor each had a parser of their own, and they disagreed: a protobuf
 * label without a content-type header, a time given as a digit string, a zone-less time (read in
 * the consumer's local zone) or `"event_time": null` was taken by one and dead-lettered by the other.
 */

/** A label, whichever of its three forms it arrived in. What a consumer adds is its own affair. */
export interface DecodedLabel {
  /** The producer's id for the label, "" when it gave none (clickhouse-sink derives one). */
  labelId: string;
  /** The prediction it labels, by request id ("" when entity-keyed). */
  requestId: string;
  /** With eventTimeMs, the entity and instant it labels ("" when request-keyed). */
  entityId: string;
  /** Epoch ms; 0 when not given (request-keyed labels need none). */
  eventTimeMs: number;
  /** 1 for the positive class (e.g. fraud), 0 for the negative; true/false read as 1/0. */
  label: 0 | 1;
  /** When the label became known, epoch ms; 0 when not given (a consumer may use the record's timestamp). */
  labelTimeMs: number;
}

/** Why a record is not a label: the dead-letter reason. */
export interface LabelProblem {
  code: string;
  detail: string;
}

/** True for a LabelProblem (decodeLabel's refusal) rather than a label (or a consumer's view of one). */
export function isLabelProblem<L extends object>(x: L | LabelProblem): x is LabelProblem {
  return "code" in x;
}

const RFC3339_WITH_ZONE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$/;

/**
 * A time in a JSON record: epoch milliseconds (a number or a string of digits) or an RFC 3339 time
 * with its zone. NaN when it is neither: a time without a zone would mean different instants to
 * consumers in different zones.
 */
export function parseRecordTime(value: unknown): number {
  if (typeof value === "number") return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value !== "string") return Number.NaN;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  // Date.parse accepts far more than RFC 3339; insist on a date, a time and a zone.
  if (!RFC3339_WITH_ZONE.test(text)) return Number.NaN;
  return Date.parse(text);
}

const problem = (code: string, detail: string): LabelProblem => ({ code, detail });

// A label must say what it labels (a prediction by request id, or an entity at an instant) and be
// a class: every consumer scores classifiers (AUC, precision, recall), so a value other than 0 or 1
// would be read differently by each, or dropped by one and counted by another.
function checked(l: Omit<DecodedLabel, "label">, label: number): DecodedLabel | LabelProblem {
  if (l.requestId === "" && l.entityId === "") return problem("MISSING_FIELD", "a label needs request_id, or entity_id with event_time");
  if (l.requestId === "" && !(l.eventTimeMs > 0)) return problem("MISSING_FIELD", "field event_time is missing (required with entity_id)");
  if (label !== 0 && label !== 1) return problem("INVALID_LABEL", `label must be 0 or 1 (false or true; 1 = the positive class), got ${label}`);
  return { ...l, label };
}

// An id field: a string, or a number written without quotes; absent or null is "".
function idField(o: Record<string, unknown>, field: string): string | LabelProblem {
  const v = o[field];
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return problem("INVALID_FIELD", `field ${field} must be a string, got ${JSON.stringify(v)}`);
}

// A time field: absent or null is 0 ("not given").
function timeField(o: Record<string, unknown>, field: string): number | LabelProblem {
  const v = o[field];
  if (v === undefined || v === null) return 0;
  const ms = parseRecordTime(v);
  if (Number.isNaN(ms)) return problem("INVALID_FIELD", `field ${field} must be epoch milliseconds or an RFC 3339 time with a zone, got ${JSON.stringify(v).slice(0, 64)}`);
  return ms;
}

function decodeJson(text: string): DecodedLabel | LabelProblem {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return problem("MALFORMED_JSON", `label is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return problem("MALFORMED_JSON", "a label must be a JSON object");
  const o = json as Record<string, unknown>;
  const labelId = idField(o, "label_id");
  if (typeof labelId !== "string") return labelId;
  const requestId = idField(o, "request_id");
  if (typeof requestId !== "string") return requestId;
  const entityId = idField(o, "entity_id");
  if (typeof entityId !== "string") return entityId;
  const eventTimeMs = timeField(o, "event_time");
  if (typeof eventTimeMs !== "number") return eventTimeMs;
  const labelTimeMs = timeField(o, "label_time");
  if (typeof labelTimeMs !== "number") return labelTimeMs;
  const raw = o["label"];
  if (raw === undefined || raw === null) return problem("MISSING_FIELD", "field label is missing");
  if (typeof raw !== "number" && typeof raw !== "boolean") return problem("INVALID_FIELD", `field label must be a number or true/false, got ${JSON.stringify(raw).slice(0, 64)}`);
  return checked({ labelId, requestId, entityId, eventTimeMs, labelTimeMs }, typeof raw === "boolean" ? (raw ? 1 : 0) : raw);
}

/**
 * Reads a record of loopline.labels: a protobuf loopline.v1.Label when its content-type header says
 * application/x-protobuf, JSON when it says application/json; without either, JSON when the bytes
 * start with `{` (which no Label's protobuf encoding can), else protobuf. The JSON forms are
 * {request_id, label, label_time?} and {entity_id, event_time, label, label_time?}, each with an
 * optional label_id; times are epoch ms or RFC 3339 with a zone, and label is 0 or 1 (or false/true).
 */
export function decodeLabel(bytes: Uint8Array, contentType: string | undefined): DecodedLabel | LabelProblem {
  const type = mediaType(contentType);
  const first = bytes.find((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
  if (type !== PROTOBUF_CONTENT_TYPE && (type === "application/json" || first === 0x7b)) {
    return decodeJson(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  }
  let pb;
  try {
    pb = fromBinary(LabelSchema, bytes);
  } catch (err) {
    const what = type === PROTOBUF_CONTENT_TYPE ? "not a loopline.v1.Label" : "neither a JSON object nor a loopline.v1.Label";
    return problem("MALFORMED_PROTOBUF", `${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return checked({ labelId: pb.labelId, requestId: pb.requestId, entityId: pb.entityId, eventTimeMs: Number(pb.eventTimeMs), labelTimeMs: Number(pb.labelTimeMs) }, pb.label);
}
