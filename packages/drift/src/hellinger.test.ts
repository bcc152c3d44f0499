import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClose, cleaned, columnCases } from "./fixtures.test-helper.js";
import { hellinger } from "./hellinger.js";

describe("hellinger", () => {
  it("equals Evidently's stattest (density histogram for numerical, counts for categorical)", () => {
    let checked = 0;
    for (const c of columnCases()) {
      const expected = c.stattests?.hellinger;
      if (expected === undefined) continue;
      assertClose(hellinger(cleaned(c.reference, c.kind), cleaned(c.current, c.kind), c.kind), expected.score, c.name);
      checked++;
    }
    assert.ok(checked > 30);
  });

  it("is 0 for identical samples and 1 for disjoint categories", () => {
    assert.equal(hellinger(["a", "b"], ["a", "b"], "categorical"), 0);
    assert.equal(hellinger(["a", "a"], ["b"], "categorical"), 1);
  });
});
