import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriftError } from "./errors.js";
import { assertClose, cleaned, columnCases, loadFixture, type FixtureNumber } from "./fixtures.test-helper.js";
import { ks2samp, roundHalfEven } from "./ks.js";

interface KsCase {
  readonly n1: number;
  readonly n2: number;
  readonly reference: number[];
  readonly current: number[];
  readonly statistic: FixtureNumber;
  readonly pvalue: FixtureNumber;
}

describe("ks2samp", () => {
  const sized = loadFixture<{ cases: KsCase[] }>("ks.json").cases;
  for (const c of sized) {
    it(`equals scipy.stats.ks_2samp for n1=${c.n1}, n2=${c.n2}`, () => {
      const r = ks2samp(c.reference, c.current);
      assert.equal(r.mode, Math.max(c.n1, c.n2) <= 10000 ? "exact" : "asymp");
      assertClose(r.statistic, c.statistic, "statistic");
      assertClose(r.pValue, c.pvalue, "p-value");
    });
  }

  it("equals scipy on every numerical column case", () => {
    for (const c of columnCases()) {
      if (c.kind !== "numerical" || c.scipy?.ks_pvalue === undefined) continue;
      const r = ks2samp(cleaned(c.reference, "numerical") as number[], cleaned(c.current, "numerical") as number[]);
      assertClose(r.statistic, c.scipy.ks_statistic!, `${c.name} statistic`);
      assertClose(r.pValue, c.scipy.ks_pvalue, `${c.name} p-value`);
    }
  });

  it("refuses an empty sample with a typed error", () => {
    assert.throws(() => ks2samp([], [1]), (e: unknown) => e instanceof DriftError && e.code === "EMPTY_SAMPLE");
  });
});

describe("roundHalfEven", () => {
  it("rounds like numpy.round", () => {
    const cases: Array<[number, number]> = [
      [0.5, 0],
      [1.5, 2],
      [2.5, 2],
      [-0.5, -0],
      [2.4999, 2],
      [7, 7],
    ];
    for (const [x, expected] of cases) assert.equal(roundHalfEven(x), expected, `round(${x})`);
  });
});
