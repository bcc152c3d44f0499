import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { decodeFeatureUpdate, encodeFeatureUpdate, scanFeatureUpdate, UnknownValueKeyError, type PlainFeatureUpdate } from "./feature-update-codec.js";
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

test("scanFeatureUpdate reads the header protobuf-es wrote, and hands over every value key", () => {
  for (const c of cases) {
    const bytes = reference(c);
    const keys: string[] = [];
    const h = scanFeatureUpdate(bytes, (view, index, b, start, end) => {
      assert.equal(view, c.view);
      assert.equal(index, keys.length);
      keys.push(new TextDecoder().decode(b.subarray(start, end)));
      return true;
    });
    assert.deepEqual(h, { entity: c.entity, entityId: c.entityId, view: c.view, asOf: c.asOf, revision: c.revision, producedAt: c.producedAt, valueCount: keys.length });
    assert.deepEqual(keys, Object.keys(c.values));
  }
});

test("scanFeatureUpdate refuses a key the check refuses, naming it, and throws where fromBinary throws", () => {
  const c = cases[0] as PlainFeatureUpdate;
  assert.throws(
    () => scanFeatureUpdate(reference(c), (_v, _i, b, start, end) => new TextDecoder().decode(b.subarray(start, end)) !== "neg"),
    (err: unknown) => err instanceof UnknownValueKeyError && err.key === "neg",
  );
  // Every truncation of a valid message: the reference decoder decides whether it is still a message.
  const bytes = reference(c);
  for (let n = 0; n < bytes.length; n++) {
    const cut = bytes.subarray(0, n);
    let reference_ok = true;
    try {
      fromBinary(FeatureUpdateSchema, cut);
    } catch {
      reference_ok = false;
    }
    let ok = true;
    try {
      scanFeatureUpdate(cut, () => true);
    } catch {
      ok = false;
    }
    assert.equal(ok, reference_ok, `truncated to ${n} bytes`);
  }
});
