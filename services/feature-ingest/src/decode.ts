import { fromBinary } from "@bufbuild/protobuf";
import type { EventInput } from "@loopline/features";
import { fromFeatureValue } from "@loopline/proto";
import { EventSchema } from "@loopline/proto/gen/loopline/v1/events_pb.js";

/** Content type that selects the protobuf form of an event (the record header `content-type`). */
export const PROTOBUF_CONTENT_TYPE = "application/x-protobuf";

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

/** Whether a record's content-type header asks for protobuf (parameters such as `;proto=...` allowed). */
export function isProtobuf(contentType: Buffer | undefined): boolean {
  return contentType !== undefined && contentType.toString("latin1").split(";")[0]?.trim().toLowerCase() === PROTOBUF_CONTENT_TYPE;
}
