import { createHash } from "node:crypto";
import { decodeLabel, isLabelProblem, type DecodedLabel } from "@loopline/proto";
import { float, millis, seconds, type Rejection, type RecordOrigin, type Row } from "./rows.js";

/**
 * Labels on loopline.labels come in three forms: protobuf loopline.v1.Label (header content-type
 * application/x-protobuf), JSON {request_id, label, label_time?} and JSON {entity_id, event_time,
 * label, label_time?} (@loopline/proto's decodeLabel reads them all, for every consumer).
 * label_time defaults to the record's timestamp. A label without label_id gets
 * one derived from what it labels, so a redelivered or re-sent label lands on the same row and a
 * corrected label (a later label_time) supersedes the first in `labels_dedup`.
 */

/** A label as stored: the decoder's shape, with labelId and labelTimeMs always filled in. */
export type ParsedLabel = DecodedLabel;

/**
 * The id of a label that carries none: sha256 of what it labels, hex, first 32 characters.
 * By request: `request_id NUL <request_id>`; by entity and time: `entity NUL <entity_id> NUL <event_time_ms>`.
 * Neither the value nor label_time is part of it: those are what a correction changes.
 */
export function deriveLabelId(requestId: string, entityId: string, eventTimeMs: number): string {
  const identity = requestId !== "" ? `request_id\0${requestId}` : `entity\0${entityId}\0${eventTimeMs}`;
  return createHash("sha256").update(identity).digest("hex").slice(0, 32);
}

/**
 * A record of loopline.labels as a label to store: read by the decoder every consumer shares
 * (@loopline/proto's decodeLabel), label_time falling back to the record's timestamp and the id,
 * when the producer gave none, derived from what the label is about.
 */
export function parseLabel(bytes: Uint8Array, contentType: string | undefined, recordTimestamp: number): ParsedLabel | { rejected: Rejection } {
  const l = decodeLabel(bytes, contentType);
  if (isLabelProblem(l)) return { rejected: l };
  return {
    labelId: l.labelId !== "" ? l.labelId : deriveLabelId(l.requestId, l.entityId, l.eventTimeMs),
    requestId: l.requestId,
    entityId: l.entityId,
    eventTimeMs: l.eventTimeMs,
    label: l.label,
    labelTimeMs: l.labelTimeMs !== 0 ? l.labelTimeMs : recordTimestamp,
  };
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
