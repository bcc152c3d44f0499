import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClose, cleaned, columnCases } from "./fixtures.test-helper.js";
import { buildReferenceProfile, type NumericalColumnProfile } from "./profile.js";
import { wassersteinAgainstReference } from "./wasserstein-scan.js";

describe("wassersteinAgainstReference", () => {
  it("equals scipy.stats.wasserstein_distance on every numerical case (ties, tails, constant columns)", () => {
    let checked = 0;
    for (const c of columnCases()) {
      if (c.kind !== "numerical" || c.scipy?.wasserstein_distance === undefined) continue;
      const profile = buildReferenceProfile([{ name: "x", kind: "numerical" }], { x: cleaned(c.reference, "numerical") });
      const cur = Float64Array.from(cleaned(c.current, "numerical") as number[]);
      const w = wassersteinAgainstReference(profile.columns[0] as NumericalColumnProfile, cur, cur.length);
      assertClose(w, c.scipy.wasserstein_distance, c.name);
      checked++;
    }
    assert.ok(checked > 30);
  });
});
