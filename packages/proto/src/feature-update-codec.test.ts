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
  // Negative and past-2^53 int64s (ten-byte varints) come out as Number(bigint) does.
  const wide = toBinary(
    FeatureUpdateSchema,
    create(FeatureUpdateSchema, { eventTimeMs: -1_234n, revision: 2n ** 63n + 5n, producedAtMs: 2n ** 60n, values: { n: { kind: { case: "integer", value: -5n } }, m: { kind: { case: "integer", value: -(2n ** 62n) } } } }),
  );
  const d = decodeFeatureUpdate(wide);
  assert.deepEqual([d.asOf, d.revision, d.producedAt, d.values], [-1234, Number(2n ** 63n + 5n), Number(2n ** 60n), { n: -5, m: Number(-(2n ** 62n)) }]);
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
    assert.equal(ok, reference_ok, `scan, truncated to ${n} bytes`);
    let decoded = true;
    try {
      decodeFeatureUpdate(cut);
    } catch {
      decoded = false;
    }
    assert.equal(decoded, reference_ok, `decode, truncated to ${n} bytes`);
  }
});

test("decoding updates whose keys change from one message to the next never reuses a stale key", () => {
  // The decoder caches keys by entry position; messages of different views and orders alternate here.
  const keySets = [["a", "b", "c"], ["a", "bb", "c"], ["b", "a"], ["é", "a", "b", "c", "d"], [""], ["a", "b", "c"], ["ab", "c"]];
  let seed = 7;
  for (let i = 0; i < 200; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const keys = keySets[seed % keySets.length] as string[];
    const values = Object.fromEntries(keys.map((k, j) => [k, j % 2 === 0 ? j + i : `${k}${i}`]));
    const c: PlainFeatureUpdate = { entity: "e", entityId: `id${i}`, view: "v", asOf: 1 + i, revision: 1, values, producedAt: 0, sourceEventId: "" };
    const bytes = reference(c);
    assert.deepEqual(decodeFeatureUpdate(bytes), c);
    const m = fromBinary(FeatureUpdateSchema, bytes);
    assert.deepEqual(Object.keys(decodeFeatureUpdate(bytes).values), Object.keys(m.values));
  }
});
