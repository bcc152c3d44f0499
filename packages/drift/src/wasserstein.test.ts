import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClose, cleaned, columnCases } from "./fixtures.test-helper.js";
import { wassersteinDistance, wassersteinNormed } from "./wasserstein.js";

describe("wassersteinNormed", () => {
  it("equals Evidently's stattest and scipy.stats.wasserstein_distance on every numerical case", () => {
    let checked = 0;
    for (const c of columnCases()) {
      const expected = c.stattests?.wasserstein;
      if (expected === undefined) continue;
      const ref = cleaned(c.reference, "numerical") as number[];
      const cur = cleaned(c.current, "numerical") as number[];
      assertClose(wassersteinNormed(ref, cur), expected.score, c.name);
      assertClose(wassersteinDistance(ref, cur), c.scipy!.wasserstein_distance!, `${c.name} raw`);
      checked++;
    }
    assert.ok(checked > 30);
  });

  it("reproduces the REFERENCES.md worked example", () => {
    const ref = Array.from({ length: 30 }, (_, i) => i + 1);
    const cur = Array.from({ length: 30 }, (_, i) => i + 6);
    assertClose(wassersteinNormed(ref, cur), 0.5776712868787002, "worked example");
  });
});
