import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { decodeFeatureUpdate, encodeFeatureUpdate, type PlainFeatureUpdate } from "./feature-update-codec.js";
import { fromFeatureValue, toFeatureValue } from "./feature-values.js";
import { FeatureUpdateSchema } from "./gen/loopline/v1/features_pb.js";

// The reference is protobuf-es' reflective codec over the schema generated from the .proto file.
const reference = (u: PlainFeatureUpdate) =>
  toBinary(
    FeatureUpdateSchema,
    create(FeatureUpdateSchema, {
      entity: u.entity,
      entityId: u.entityId,
      view: u.view,
      eventTimeMs: BigInt(u.asOf),
      revision: BigInt(u.revision),
      values: Object.fromEntries(Object.entries(u.values).map(([k, v]) => [k, toFeatureValue(v)])),
      producedAtMs: BigInt(u.producedAt),
      sourceEventId: u.sourceEventId,
    }),
  );

const cases: PlainFeatureUpdate[] = [
  { entity: "card", entityId: "card-1", view: "card_txn", asOf: 1_763_800_000_123, revision: 42, values: { n: 12.5, z: 0, neg: -3e-9, s: "FR", e: "", b: true, f: false, nul: null, big: 1e300 }, producedAt: 1_763_800_000_456, sourceEventId: "e-9" },
  { entity: "", entityId: "", view: "", asOf: 0, revision: 0, values: {}, producedAt: 0, sourceEventId: "" },
  { entity: "card", entityId: "ünï ✓", view: "v", asOf: 1, revision: 2 ** 53 - 1, values: { "na-me": "x".repeat(300) }, producedAt: 0, sourceEventId: "" },
];

test("encodes byte-for-byte like protobuf-es toBinary", () => {
  for (const c of cases) assert.deepEqual(encodeFeatureUpdate(c), reference(c));
});

test("decodes what protobuf-es writes, and fromBinary reads what it writes", () => {
  for (const c of cases) {
    assert.deepEqual(decodeFeatureUpdate(reference(c)), c);
    const m = fromBinary(FeatureUpdateSchema, encodeFeatureUpdate(c));
    assert.equal(Number(m.eventTimeMs), c.asOf);
    assert.deepEqual(Object.fromEntries(Object.entries(m.values).map(([k, v]) => [k, fromFeatureValue(v)])), c.values);
  }
});

test("an int64 feature value from another producer decodes as a number; garbage throws", () => {
  const bytes = toBinary(FeatureUpdateSchema, create(FeatureUpdateSchema, { view: "v", values: { i: { kind: { case: "integer", value: 7n } } } }));
  assert.deepEqual(decodeFeatureUpdate(bytes).values, { i: 7 });
  assert.throws(() => decodeFeatureUpdate(new Uint8Array([0x0a, 0xff])));
});
