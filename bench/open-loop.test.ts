import assert from "node:assert/strict";
import { test } from "node:test";
import { openLoopLatencies, quantileOf } from "./open-loop.js";

test("makes rate × seconds calls, each index once, and returns one sorted latency per call", async () => {
  const seen: number[] = [];
  const lat = await openLoopLatencies(2000, 0.05, async (i) => void seen.push(i));
  assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i));
  assert.equal(lat.length, 100);
  for (let i = 1; i < lat.length; i++) assert.ok((lat[i - 1] as number) <= (lat[i] as number), "sorted ascending");
  assert.ok(lat.every((v) => v >= 0));
});

test("waits for calls still unanswered when the schedule ends", async () => {
  let answered = 0;
  const release: (() => void)[] = [];
  const run = openLoopLatencies(1000, 0.01, () => new Promise<void>((r) => release.push(() => { answered++; r(); })));
  // Every call is sent (10 at 1000/s) before any is answered; the result waits for all of them.
  while (release.length < 10) await new Promise((r) => setTimeout(r, 1));
  let finished = false;
  void run.then(() => (finished = true));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(finished, false);
  for (const r of release) r();
  assert.equal((await run).length, 10);
  assert.equal(answered, 10);
});

test("a failed call stops the schedule and rejects with its error once the calls in flight settle", async () => {
  const calls: number[] = [];
  await assert.rejects(
    openLoopLatencies(1000, 1, async (i) => {
      calls.push(i);
      if (i === 3) throw new Error("refused");
    }),
    /refused/,
  );
  assert.ok(calls.length < 1000, `stopped early (${calls.length} calls of 1000)`);
});

test("quantileOf takes the nearest rank", () => {
  const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(quantileOf(sorted, 0.5), 51);
  assert.equal(quantileOf(sorted, 0.99), 100);
  assert.equal(quantileOf(sorted, 1), 100);
});
