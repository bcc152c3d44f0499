import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { datasetDrift, defaultMethod, isDrifted, type DriftMethod } from "./methods.js";

describe("defaultMethod", () => {
  it("follows Evidently's rules on N and U boundaries", () => {
    const cases: Array<["numerical" | "categorical", number, number, DriftMethod]> = [
      ["numerical", 1000, 6, "ks"],
      ["numerical", 1001, 6, "wasserstein"],
      ["numerical", 1000, 5, "chisquare"],
      ["numerical", 1000, 3, "chisquare"],
      ["numerical", 1000, 2, "z"],
      ["numerical", 1001, 5, "jensenshannon"],
      ["numerical", 1001, 2, "jensenshannon"],
      ["categorical", 1000, 3, "chisquare"],
      ["categorical", 1000, 2, "z"],
      ["categorical", 1000, 1, "z"],
      ["categorical", 1001, 2, "jensenshannon"],
      ["categorical", 1001, 40, "jensenshannon"],
    ];
    for (const [kind, n, u, expected] of cases) assert.equal(defaultMethod(kind, n, u), expected, `${kind} N=${n} U=${u}`);
  });
});

describe("isDrifted", () => {
  it("uses <= for KS, < for chi-square and z, >= for distances", () => {
    const cases: Array<[DriftMethod, number, boolean]> = [
      ["ks", 0.05, true],
      ["ks", 0.0500001, false],
      ["chisquare", 0.05, false],
      ["z", 0.049, true],
      ["wasserstein", 0.1, true],
      ["psi", 0.0999, false],
      ["jensenshannon", 0.1, true],
    ];
    for (const [m, score, expected] of cases) assert.equal(isDrifted(m, score, m === "ks" || m === "chisquare" || m === "z" ? 0.05 : 0.1), expected, `${m} ${score}`);
  });
});

describe("datasetDrift", () => {
  it("flags the dataset when the drifted share reaches 0.5", () => {
    assert.deepEqual(datasetDrift([true, false]), { driftedColumns: 1, share: 0.5, datasetDrift: true });
    assert.deepEqual(datasetDrift([true, false, false]), { driftedColumns: 1, share: 1 / 3, datasetDrift: false });
    assert.deepEqual(datasetDrift([]), { driftedColumns: 0, share: 0, datasetDrift: false });
  });
});
