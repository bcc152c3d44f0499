import assert from "node:assert/strict";
import { test } from "node:test";
import { recordBytes, splitBySize } from "./kafka.js";

test("splitBySize keeps order, bounds each run, and lets an oversized record travel alone", () => {
  const sizes = [4, 4, 4, 11, 1, 1, 8, 3];
  const runs = splitBySize(sizes, 10, (n) => n);
  assert.deepEqual(runs, [[4, 4], [4], [11], [1, 1, 8], [3]]);
  assert.deepEqual(runs.flat(), sizes);
  assert.deepEqual(splitBySize([], 10, (n: number) => n), []);
});

test("recordBytes counts UTF-8 bytes of key, value and headers plus framing", () => {
  const bare = recordBytes({ value: null });
  assert.equal(recordBytes({ key: "é", value: Buffer.alloc(10) }) - bare, 2 + 10);
  assert.equal(recordBytes({ value: "abc", headers: { h: "12" } }) - bare, 3 + 8 + 1 + 2);
});
