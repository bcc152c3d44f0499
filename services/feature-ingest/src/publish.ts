import { create, toBinary } from "@bufbuild/protobuf";
import type { FeatureUpdate } from "@loopline/features";
import type { OutgoingRecord } from "@loopline/kit";
import { toFeatureValue } from "@loopline/proto";
import { FeatureUpdateSchema } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { PROTOBUF_CONTENT_TYPE } from "./decode.js";

/** Encodes an engine update as the loopline.v1.FeatureUpdate record published on loopline.features, keyed by entity. */
export function updateRecord(u: FeatureUpdate, producedAt: number): OutgoingRecord {
  const values: Record<string, ReturnType<typeof toFeatureValue>> = {};
  for (const [name, v] of Object.entries(u.values)) values[name] = toFeatureValue(v);
  const message = create(FeatureUpdateSchema, {
    entity: u.entity,
    entityId: u.entityId,
    view: u.view,
    eventTimeMs: BigInt(u.asOf),
    revision: BigInt(u.revision),
    values,
    producedAtMs: BigInt(producedAt),
    sourceEventId: u.eventId,
  });
  return { key: u.entityId, value: Buffer.from(toBinary(FeatureUpdateSchema, message)), headers: { "content-type": PROTOBUF_CONTENT_TYPE } };
}
