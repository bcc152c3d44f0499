import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createCurrentWindow, type NumericalWindowColumn } from "./current-window.js";
import { DriftError } from "./errors.js";

const schema = [
  { name: "x", kind: "numerical" },
  { name: "c", kind: "categorical" },
] as const;

describe("createCurrentWindow", () => {
  it("keeps finite numbers, counts labels and counts everything else as missing", () => {
    const w = createCurrentWindow(schema, { initialCapacity: 1 });
    const records: Array<Record<string, unknown>> = [
      { x: 1.5, c: "a" },
      { x: Number.NaN, c: null },
      { x: Infinity, c: "a" },
      { c: "b" },
      { x: "3", c: undefined },
      { x: -2, c: true },
    ];
    for (const r of records) w.add(r);
    assert.equal(w.rowCount, 6);
    const x = w.columns[0] as NumericalWindowColumn;
    assert.deepEqual([...x.values.subarray(0, x.size)], [1.5, -2]);
    assert.equal(x.missingCount, 4);
    const c = w.columns[1]!;
    assert.equal(c.kind === "categorical" && [...c.counts].join(";"), "a,2;b,1;true,1");
    assert.equal(c.missingCount, 2);
  });

  it("accepts columnar backfill and clears without losing its columns", () => {
    const w = createCurrentWindow(schema);
    w.addColumn("x", new Float64Array([1, 2, 3]));
    assert.equal(w.columns[0]!.size, 3);
    w.clear();
    assert.equal(w.columns[0]!.size, 0);
    assert.equal(w.rowCount, 0);
    assert.throws(() => w.addColumn("nope", [1]), (e: unknown) => e instanceof DriftError && e.code === "UNKNOWN_COLUMN");
  });
});
