import type { FeatureUpdate } from "@loopline/features";
import type { OutgoingRecord } from "@loopline/kit";
import { encodeFeatureUpdate } from "@loopline/proto";
import { PROTOBUF_CONTENT_TYPE } from "./decode.js";

// One Buffer for every record's header value, and each key encoded once here: the partitioner and
// the batch encoder both take a Buffer as it is, where a string is encoded again by each.
const HEADERS = { "content-type": Buffer.from(PROTOBUF_CONTENT_TYPE) };

/** Encodes an engine update as the loopline.v1.FeatureUpdate record published on loopline.features, keyed by entity. */
// Hot path: guarded by bench/features.bench.ts (ingest events/s).
export function updateRecord(u: FeatureUpdate, producedAt: number): OutgoingRecord {
  const value = encodeFeatureUpdate({
    entity: u.entity,
    entityId: u.entityId,
    view: u.view,
    asOf: u.asOf,
    revision: u.revision,
    values: u.values as Record<string, string | number | boolean | null>,
    producedAt,
    sourceEventId: u.eventId,
  });
  return { key: Buffer.from(u.entityId), value: Buffer.from(value.buffer, value.byteOffset, value.byteLength), headers: HEADERS };
}
