import assert from "node:assert/strict";
import { test } from "node:test";
import { createInsertBatcher } from "./insert-batcher.js";
import type { Row } from "./rows.js";

const rows = (n: number, tag: string): Row[] => Array.from({ length: n }, (_, i) => ({ tag, i }));
const tick = () => new Promise((r) => setImmediate(r));

function recorder(fail?: () => boolean) {
  const inserts: { table: string; tags: string[] }[] = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  return {
    inserts,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    open() {
      release?.();
      gate = undefined;
    },
    insert: async (table: string, rs: readonly Row[]) => {
      await gate;
      if (fail?.() === true) throw new Error("clickhouse down");
      inserts.push({ table, tags: [...new Set(rs.map((r) => String(r["tag"])))] });
    },
  };
}

test("handlers that are behind share one INSERT per table, and resolve only after it", async () => {
  const rec = recorder();
  const b = createInsertBatcher({ insert: rec.insert, maxRows: 1000, lingerMs: 60_000 });
  let resolved = 0;
  const a = b.write("predictions", rows(10, "a"), true).then(() => resolved++);
  const c = b.write("predictions", rows(10, "c"), true).then(() => resolved++);
  const d = b.write("labels", rows(1, "d"), true).then(() => resolved++);
  assert.equal(resolved, 0);
  await Promise.all([a, c, d]);
  assert.deepEqual(rec.inserts, [
    { table: "predictions", tags: ["a", "c"] },
    { table: "labels", tags: ["d"] },
  ]);
});

test("caught up, rows linger for company; a full buffer goes out at once", async () => {
  const rec = recorder();
  const b = createInsertBatcher({ insert: rec.insert, maxRows: 25, lingerMs: 80 });
  const started = Date.now();
  const first = b.write("t", rows(5, "a"), false);
  await tick();
  assert.equal(rec.inserts.length, 0, "lingering");
  await first;
  assert.ok(Date.now() - started >= 70, "waited for the interval");
  await b.write("t", rows(30, "big"), false); // over maxRows: immediately, split in two INSERTs
  assert.deepEqual(rec.inserts.map((i) => i.tags), [["a"], ["big"], ["big"]]);
});

test("one INSERT in flight per table: rows arriving meanwhile form the next one", async () => {
  const rec = recorder();
  const b = createInsertBatcher({ insert: rec.insert, maxRows: 1000, lingerMs: 60_000 });
  rec.hold();
  const first = b.write("t", rows(1, "a"), true);
  await tick();
  await tick();
  const later = [b.write("t", rows(1, "b"), true), b.write("t", rows(1, "c"), true)];
  assert.equal(b.queued("t"), 2);
  rec.open();
  await Promise.all([first, ...later]);
  assert.deepEqual(rec.inserts.map((i) => i.tags), [["a"], ["b", "c"]]);
});

test("a failed INSERT rejects every handler in it, and the next one goes through", async () => {
  let down = true;
  const rec = recorder(() => down);
  const b = createInsertBatcher({ insert: rec.insert, maxRows: 1000, lingerMs: 60_000 });
  const results = await Promise.allSettled([b.write("t", rows(1, "a"), true), b.write("t", rows(1, "b"), true)]);
  assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
  down = false;
  await b.write("t", rows(1, "a"), true);
  assert.deepEqual(rec.inserts.map((i) => i.tags), [["a"]]);
});

test("drain sends lingering rows at once", async () => {
  const rec = recorder();
  const b = createInsertBatcher({ insert: rec.insert, maxRows: 1000, lingerMs: 60_000 });
  const p = b.write("t", rows(3, "a"), false);
  await tick();
  b.drain();
  await p;
  assert.equal(rec.inserts.length, 1);
});
