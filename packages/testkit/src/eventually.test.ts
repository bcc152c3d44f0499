import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually } from "./eventually.js";

test("returns the first value that satisfies the condition; throwing probes count as not yet", async () => {
  let calls = 0;
  const v = await eventually(
    async () => {
      calls++;
      if (calls < 3) throw new Error("not ready");
      return calls;
    },
    (n) => n >= 4,
    { intervalMs: 1 },
  );
  assert.equal(v, 4);
});

test("fails after the timeout naming what was awaited and the last value", async () => {
  await assert.rejects(eventually(async () => ({ n: 1n }), () => false, { timeoutMs: 30, what: "the answer", intervalMs: 5 }), /the answer not reached within 30 ms; last seen: \{"n":"1"\}/);
  await assert.rejects(eventually(() => Promise.reject(new Error("boom")), () => true, 20), /last seen: boom/);
});
