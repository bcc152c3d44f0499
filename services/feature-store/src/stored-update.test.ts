import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeStored, encodeStored, isNewer } from "./stored-update.js";
import { groupByKey, type PendingWrite } from "./redis-store.js";

test("stored values round-trip and tolerate garbage", () => {
  const u = { asOf: 1_763_000_000_123, revision: 7, producedAt: 1_763_000_000_200, values: { n: 1.5, s: "US|FR", b: true, z: null } };
  assert.equal(encodeStored(u), '1763000000123|7|1763000000200|{"n":1.5,"s":"US|FR","b":true,"z":null}');
  assert.deepEqual(decodeStored(encodeStored(u)), u);
  for (const bad of [null, undefined, "", "x", "1|2", "a|b|c|{}", "1|2|3|{not json"]) assert.equal(decodeStored(bad), undefined, String(bad));
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
  const w = (entityId: string, asOf: number, revision: number): PendingWrite => ({ view: "v", entityId, update: { asOf, revision, producedAt: 0, values: {} }, expireAt: 0 });
  const items = [w("a", 12, 2), w("b", 5, 1), w("a", 10, 1), w("a", 12, 1), w("a", 11, 9)];
  for (const order of [items, [...items].reverse()]) {
    const g = groupByKey(order);
    assert.deepEqual(g.get("fs:v:a")?.map((x) => [x.update.asOf, x.update.revision]), [[10, 1], [11, 9], [12, 1], [12, 2]]);
    assert.deepEqual(g.get("fs:v:b")?.map((x) => x.update.asOf), [5]);
  }
});
