import { createHash } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { LabelSchema } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { float, millis, seconds, type Rejection, type RecordOrigin, type Row } from "./rows.js";

/**
 * Labels on loopline.labels come in three forms: protobuf loopline.v1.Label (header content-type
 * application/x-protobuf), JSON {request_id, label, label_time?} and JSON {entity_id, event_time,
 * label, label_time?}. label_time defaults to the record's timestamp. A label without label_id gets
 * one derived from what it labels, so a redelivered or re-sent label lands on the same row and a
 * corrected label (a later label_time) supersedes the first in `labels_dedup`.
 */

/** A label in one shape, whichever form it arrived in. */
export interface ParsedLabel {
  labelId: string;
  requestId: string;
  entityId: string;
  eventTimeMs: number;
  label: number;
  labelTimeMs: number;
}

/**
 * The id of a label that carries none: sha256 of what it labels, hex, first 32 characters.
 * By request: `request_id NUL <request_id>`; by entity and time: `entity NUL <entity_id> NUL <event_time_ms>`.
 * Neither the value nor label_time is part of it: those are what a correction changes.
 */
export function deriveLabelId(requestId: string, entityId: string, eventTimeMs: number): string {
  const identity = requestId !== "" ? `request_id\0${requestId}` : `entity\0${entityId}\0${eventTimeMs}`;
  return createHash("sha256").update(identity).digest("hex").slice(0, 32);
}

/** Parses a JSON time: epoch milliseconds (number or digit string) or an RFC 3339 string. NaN when invalid. */
export function parseTime(value: unknown): number {
  if (typeof value === "number") return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value !== "string" || value.trim() === "") return Number.NaN;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  // Date.parse accepts far more than RFC 3339; insist on a date, a time and a zone.
  if (!/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$/.test(value.trim())) return Number.NaN;
  return Date.parse(value.trim());
}

const reject = (code: string, detail: string): { rejected: Rejection } => ({ rejected: { code, detail } });

function checkIdentity(l: Omit<ParsedLabel, "labelId">): { rejected: Rejection } | undefined {
  if (l.requestId === "" && l.entityId === "") return reject("MISSING_FIELD", "a label needs request_id, or entity_id with event_time");
  if (l.requestId === "" && l.eventTimeMs <= 0) return reject("MISSING_FIELD", "field event_time is missing (required with entity_id)");
  if (!Number.isFinite(l.label)) return reject("INVALID_FIELD", "field label must be a finite number");
  return undefined;
}

/** Reads a protobuf Label; label_time_ms 0 means "not given" and falls back to the record timestamp. */
export function parseProtobufLabel(bytes: Uint8Array, recordTimestamp: number): ParsedLabel | { rejected: Rejection } {
  let pb;
  try {
    pb = fromBinary(LabelSchema, bytes);
  } catch (err) {
    return reject("MALFORMED_PROTOBUF", `not a loopline.v1.Label: ${(err as Error).message}`);
  }
  const l = {
    requestId: pb.requestId,
    entityId: pb.entityId,
    eventTimeMs: Number(pb.eventTimeMs),
    label: pb.label,
    labelTimeMs: pb.labelTimeMs !== 0n ? Number(pb.labelTimeMs) : recordTimestamp,
  };
  const bad = checkIdentity(l);
  if (bad !== undefined) return bad;
  return { ...l, labelId: pb.labelId !== "" ? pb.labelId : deriveLabelId(l.requestId, l.entityId, l.eventTimeMs) };
}

const optionalString = (o: Record<string, unknown>, field: string): string | { rejected: Rejection } => {
  const v = o[field];
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return reject("INVALID_FIELD", `field ${field} must be a string`);
};

/** Reads a JSON label in either of its forms. */
export function parseJsonLabel(text: string, recordTimestamp: number): ParsedLabel | { rejected: Rejection } {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    return reject("MALFORMED_JSON", (err as Error).message);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return reject("MALFORMED_JSON", "a label must be a JSON object");
  const obj = o as Record<string, unknown>;
  const requestId = optionalString(obj, "request_id");
  const entityId = optionalString(obj, "entity_id");
  const labelId = optionalString(obj, "label_id");
  for (const s of [requestId, entityId, labelId]) if (typeof s !== "string") return s;
  let eventTimeMs = 0;
  if (obj["event_time"] !== undefined && obj["event_time"] !== null) {
    eventTimeMs = parseTime(obj["event_time"]);
    if (Number.isNaN(eventTimeMs)) return reject("INVALID_FIELD", "field event_time must be epoch milliseconds or an RFC 3339 time");
  }
  let labelTimeMs = recordTimestamp;
  if (obj["label_time"] !== undefined && obj["label_time"] !== null) {
    labelTimeMs = parseTime(obj["label_time"]);
    if (Number.isNaN(labelTimeMs)) return reject("INVALID_FIELD", "field label_time must be epoch milliseconds or an RFC 3339 time");
  }
  const raw = obj["label"];
  if (raw === undefined || raw === null) return reject("MISSING_FIELD", "field label is missing");
  const label = typeof raw === "boolean" ? (raw ? 1 : 0) : typeof raw === "number" ? raw : Number.NaN;
  const l = { requestId: requestId as string, entityId: entityId as string, eventTimeMs, label, labelTimeMs };
  const bad = checkIdentity(l);
  if (bad !== undefined) return bad;
  return { ...l, labelId: labelId !== "" ? (labelId as string) : deriveLabelId(l.requestId, l.entityId, l.eventTimeMs) };
}

/** A parsed label as a `labels` row. */
export function labelRow(l: ParsedLabel, origin: RecordOrigin, ingestedAt: number): Row {
  return {
    label_id: l.labelId,
    request_id: l.requestId,
    entity_id: l.entityId,
    event_time: seconds(l.eventTimeMs),
    event_time_ms: millis(l.eventTimeMs),
    label: float(l.label),
    label_time: seconds(l.labelTimeMs),
    label_time_ms: millis(l.labelTimeMs),
    source_partition: origin.partition,
    source_offset: origin.offset,
    ingested_at: ingestedAt,
  };
}
