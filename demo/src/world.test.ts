import assert from "node:assert/strict";
import { test } from "node:test";
import { createWorld } from "./world.js";

test("the same seed gives the same world", () => {
  const a = createWorld({ seed: 7, cards: 100, campaignRate: 0.01 });
  const b = createWorld({ seed: 7, cards: 100, campaignRate: 0.01 });
  for (let i = 0; i < 500; i++) assert.deepEqual(a.next(i, i > 250), b.next(i, i > 250));
});

test("fraud changes shape after the drift: large foreign before, small domestic card testing after", () => {
  const w = createWorld({ seed: 1, cards: 500, campaignRate: 0.02 });
  const before = Array.from({ length: 20_000 }, (_, i) => w.next(i, false));
  const after = Array.from({ length: 20_000 }, (_, i) => w.next(i, true));
  const share = (xs: { fraud: boolean }[]) => xs.filter((x) => x.fraud).length / xs.length;
  const meanAmount = (xs: { amount: number }[]) => xs.reduce((s, x) => s + x.amount, 0) / xs.length;
  for (const xs of [before, after]) assert.ok(share(xs) > 0.02 && share(xs) < 0.25, `fraud share ${share(xs)}`);
  const fraudBefore = before.filter((x) => x.fraud);
  const fraudAfter = after.filter((x) => x.fraud);
  assert.ok(meanAmount(fraudBefore) > 4 * meanAmount(before.filter((x) => !x.fraud)), "pre-drift fraud is large");
  assert.ok(meanAmount(fraudAfter) < 10, "post-drift fraud is small");
  assert.ok(meanAmount(after.filter((x) => !x.fraud)) > 1.5 * meanAmount(before.filter((x) => !x.fraud)), "everyone spends more after the drift");
  assert.ok(fraudAfter.every((x) => x.channel === "ecom"));
  // Bursts after the drift: consecutive fraudulent uses of one card far more often than before.
  const repeats = (xs: { fraud: boolean; cardId: string }[]) => xs.filter((x, i) => x.fraud && xs.slice(Math.max(0, i - 50), i).some((y) => y.fraud && y.cardId === x.cardId)).length / Math.max(1, xs.filter((x) => x.fraud).length);
  assert.ok(repeats(after) > 0.5, `post-drift bursts ${repeats(after)}`);
  assert.ok(repeats(before) < 0.1, `pre-drift bursts ${repeats(before)}`);
});
