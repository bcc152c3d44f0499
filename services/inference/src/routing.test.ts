import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseRoute, fnv1a32, inCanaryShare, routingBucket } from "./routing.js";

test("fnv1a32 matches the published FNV-1a test vectors", () => {
  // Vectors from the FNV reference test suite (Landon Curt Noll, fnv_test.c, 32-bit FNV-1a).
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
  // Non-ASCII goes through UTF-8: "é" is the bytes C3 A9.
  assert.equal(fnv1a32("é"), Math.imul(Math.imul(0x811c9dc5 ^ 0xc3, 0x01000193) ^ 0xa9, 0x01000193) >>> 0);
});

test("routing is sticky: the same entity always gets the same answer", () => {
  for (let i = 0; i < 1000; i++) {
    const id = `card-${i}`;
    const first = chooseRoute("fraud", id, { canaryPercent: 25 });
    for (let k = 0; k < 3; k++) assert.equal(chooseRoute("fraud", id, { canaryPercent: 25 }), first);
  }
});

test("the canary's share is canary_percent within tolerance", () => {
  const n = 100_000;
  for (const percent of [1, 10, 33.3, 50]) {
    let canary = 0;
    for (let i = 0; i < n; i++) if (inCanaryShare("fraud", `entity-${i}`, percent)) canary++;
    // Binomial standard deviation at n=100k is at most 0.16 percentage points; allow ~4 sigma.
    assert.ok(Math.abs((canary / n) * 100 - percent) < 0.6, `${percent}%: got ${(canary / n) * 100}%`);
  }
});

test("raising canary_percent only moves entities to the canary", () => {
  for (let i = 0; i < 20_000; i++) {
    const id = `u${i}`;
    if (inCanaryShare("fraud", id, 5)) assert.ok(inCanaryShare("fraud", id, 20), id);
  }
});

test("edges: 0% and no canary mean production, 100% means canary", () => {
  assert.equal(chooseRoute("m", "e", undefined), "production");
  assert.equal(chooseRoute("m", "e", { canaryPercent: 0 }), "production");
  assert.equal(chooseRoute("m", "e", { canaryPercent: 100 }), "canary");
});

test("different models split the same entities independently", () => {
  let same = 0;
  for (let i = 0; i < 10_000; i++) if (inCanaryShare("a", `e${i}`, 50) === inCanaryShare("b", `e${i}`, 50)) same++;
  assert.ok(same > 4700 && same < 5300, `agreement ${same}/10000 should be about half`);
  assert.ok(routingBucket("a", "x") >= 0 && routingBucket("a", "x") < 10_000);
});
