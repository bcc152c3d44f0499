import { fromBinary } from "@bufbuild/protobuf";
import type { Event, EventInput, EventResult, EventValidator } from "@loopline/features";
import type { ConsumedRecord } from "@loopline/kit";
import { PROTOBUF_CONTENT_TYPE, fromFeatureValue, isProtobufContentType } from "@loopline/proto";
import { EventSchema } from "@loopline/proto/gen/loopline/v1/events_pb.js";

/** Content type that selects the protobuf form of an event (the record header `content-type`). */
export { PROTOBUF_CONTENT_TYPE };

/** Decodes a protobuf loopline.v1.Event into the validator's structured input; undefined when undecodable. */
export function decodeProtobufEvent(bytes: Uint8Array): EventInput | undefined {
  try {
    const e = fromBinary(EventSchema, bytes);
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e.fields)) fields[k] = fromFeatureValue(v);
    return { eventId: e.eventId, entity: e.entity, entityId: e.entityId, eventTime: Number(e.eventTimeMs), type: e.type, fields };
  } catch {
    return undefined;
  }
}

/** A record as feature-ingest reads it: a valid event, or the code and detail it is dead-lettered with. */
export type DecodedRecord = { readonly ok: true; readonly event: Event } | { readonly ok: false; readonly code: string; readonly detail: string };

/**
 * Decodes and validates one raw record of the events topic: JSON, or protobuf when the
 * content-type header says so; a tombstone is MALFORMED_JSON. feature-ingest and `loopline replay`
 * both read records through this, so a replay refuses exactly what the service dead-letters.
 */
export function decodeRecord(record: Pick<ConsumedRecord, "value" | "headers">, validator: EventValidator): DecodedRecord {
  if (record.value === null) return { ok: false, code: "MALFORMED_JSON", detail: "record has no value (tombstone)" };
  let result: EventResult;
  if (isProtobufContentType(record.headers["content-type"])) {
    const input = decodeProtobufEvent(record.value);
    if (input === undefined) return { ok: false, code: "MALFORMED_PROTOBUF", detail: "value is not a loopline.v1.Event" };
    result = validator.validate(input);
  } else {
    result = validator.parse(record.value);
  }
  // A valid event's result is returned as it is: processBatch calls this per record, and most are valid.
  return result.ok ? result : { ok: false, code: result.rejection.code, detail: result.rejection.message };
}
