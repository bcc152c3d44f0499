import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { toFeatureValue } from "@loopline/proto";
import { FeatureUpdateSchema } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { decodeStored, encodeStored, isNewer, storedValue } from "./stored-update.js";
import { groupByKey, writeOf } from "./redis-store.js";

test("stored values round-trip and tolerate garbage", () => {
  const u = { asOf: 1_763_000_000_123, revision: 7, producedAt: 1_763_000_000_200, values: { n: 1.5, s: "US|FR", b: true, z: null } };
  const stored = encodeStored(u);
  assert.equal(stored.subarray(0, 30).toString("latin1"), "1763000000123|7|1763000000200|");
  assert.deepEqual(decodeStored(stored), u);
  for (const bad of [null, undefined, "", "x", "1|2", "a|b|c|{}", "1|2|3|{not json", Buffer.from([0x31, 0x7c, 0x32, 0x7c, 0x33, 0x7c, 0x0a, 0xff])]) {
    assert.equal(decodeStored(bad), undefined, String(bad));
  }
});

test("a stored record is the FeatureUpdate bytes as protobuf-es writes them, after the version", () => {
  const record = toBinary(
    FeatureUpdateSchema,
    create(FeatureUpdateSchema, { entity: "card", entityId: "card-1", view: "card_txn", eventTimeMs: 5n, revision: 2n, values: { a: toFeatureValue(2.5), c: toFeatureValue("FR"), n: toFeatureValue(null) }, producedAtMs: 9n }),
  );
  const stored = storedValue(5, 2, 9, record);
  assert.deepEqual(stored.subarray(6), Buffer.from(record));
  assert.deepEqual(decodeStored(stored), { asOf: 5, revision: 2, producedAt: 9, values: { a: 2.5, c: "FR", n: null } });
});

test("values stored as JSON by earlier versions are still read", () => {
  assert.deepEqual(decodeStored('1763000000123|7|1763000000200|{"n":1.5,"s":"US|FR","b":true,"z":null}'), {
    asOf: 1_763_000_000_123,
    revision: 7,
    producedAt: 1_763_000_000_200,
    values: { n: 1.5, s: "US|FR", b: true, z: null },
  });
});

test("newer means later asOf, or equal asOf and higher revision", () => {
  const cases: [number, number, number, number, boolean][] = [
    [2, 1, 1, 9, true],
    [1, 2, 1, 1, true],
    [1, 1, 1, 1, false],
    [1, 0, 1, 1, false],
    [0, 9, 1, 0, false],
  ];
  for (const [a, ra, b, rb, expected] of cases) assert.equal(isNewer({ asOf: a, revision: ra }, { asOf: b, revision: rb }), expected, `${a}/${ra} vs ${b}/${rb}`);
  assert.equal(isNewer({ asOf: 0, revision: 0 }, undefined), true);
});

test("a batch groups versions per key in ascending version order, whatever the arrival order", () => {
  const w = (entityId: string, asOf: number, revision: number) => writeOf("v", entityId, { asOf, revision, producedAt: 0, values: {} }, 0);
  const items = [w("a", 12, 2), w("b", 5, 1), w("a", 10, 1), w("a", 12, 1), w("a", 11, 9)];
  for (const order of [items, [...items].reverse()]) {
    const g = groupByKey(order);
    assert.deepEqual(g.get("fsl:v:a")?.map((x) => [x.asOf, x.revision]), [[10, 1], [11, 9], [12, 1], [12, 2]]);
    assert.deepEqual(g.get("fsl:v:b")?.map((x) => x.asOf), [5]);
  }
});
