import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClose, cleaned, columnCases } from "./fixtures.test-helper.js";
import { zTestProportions } from "./z-test.js";

describe("zTestProportions", () => {
  it("equals Evidently's z stattest on every recorded case", () => {
    let checked = 0;
    for (const c of columnCases()) {
      const expected = c.stattests?.z;
      if (expected === undefined) continue;
      assertClose(zTestProportions(cleaned(c.reference, c.kind), cleaned(c.current, c.kind)).pValue, expected.score, c.name);
      checked++;
    }
    assert.ok(checked > 20);
  });

  it("gives p = 1 when both samples hold the same single value", () => {
    assert.deepEqual(zTestProportions(["x", "x"], ["x"]), { statistic: 0, pValue: 1 });
  });
});
