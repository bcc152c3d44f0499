import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chiSquare } from "./chi-square.js";
import { assertClose, cleaned, columnCases } from "./fixtures.test-helper.js";

describe("chiSquare", () => {
  it("equals Evidently's chi-square stattest and scipy's statistic", () => {
    let checked = 0;
    for (const c of columnCases()) {
      const expected = c.stattests?.chisquare;
      if (expected === undefined) continue;
      const r = chiSquare(cleaned(c.reference, c.kind), cleaned(c.current, c.kind));
      assertClose(r.pValue, expected.score, `${c.name} p-value`);
      const stat = c.scipy?.chisquare_statistic;
      if (stat !== undefined && stat !== null) assertClose(r.statistic, stat, `${c.name} statistic`);
      checked++;
    }
    assert.ok(checked > 20);
  });

  it("gives p = 0 when the current sample has a category the reference never had", () => {
    const r = chiSquare(["a", "b", "c", "a"], ["a", "b", "d"]);
    assert.equal(r.statistic, Infinity);
    assert.equal(r.pValue, 0);
  });
});
