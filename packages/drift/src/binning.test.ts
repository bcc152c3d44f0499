import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { binnedShares, fillZeroShares, histogramSorted, sturgesEdges } from "./binning.js";

describe("sturgesEdges", () => {
  it("matches numpy.histogram_bin_edges(..., 'sturges') on hand-checked inputs", () => {
    // ref 1..30 + cur 6..35: 60 values, range 34, width 34 / (log2 60 + 1) -> ceil(6.9) = 7 bins.
    const edges = sturgesEdges(1, 35, 60);
    assert.equal(edges.length, 8);
    assert.equal(edges[0], 1);
    assert.equal(edges[7], 35);
    // A constant sample gets one bin [v - 0.5, v + 0.5].
    assert.deepEqual([...sturgesEdges(4, 4, 10)], [3.5, 4.5]);
  });
});

describe("histogramSorted", () => {
  it("uses half-open bins with the last bin closed", () => {
    assert.deepEqual([...histogramSorted([0, 1, 1, 2, 3], [0, 1, 2, 3])], [1, 2, 2]);
  });
});

describe("binnedShares and fillZeroShares", () => {
  it("takes value counts when the reference has 20 or fewer unique values", () => {
    const s = binnedShares([1, 1, 2, 2], [2, 3], "numerical");
    assert.deepEqual([...s.reference], [0.5, 0.5, 0]);
    assert.deepEqual([...s.current], [0, 0.5, 0.5]);
  });

  it("replaces zeros by 0.0001, or by min/1e6 when the smallest share is <= 0.0001", () => {
    const cases: Array<[number[], number[]]> = [
      [[0.5, 0, 0.5], [0.5, 0.0001, 0.5]],
      [[0.99995, 0.00005, 0], [0.99995, 0.00005, 0.00005 / 1e6]],
    ];
    for (const [input, expected] of cases) assert.deepEqual([...fillZeroShares(new Float64Array(input))], expected);
  });
});
