import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClose, cleaned, columnCases } from "./fixtures.test-helper.js";
import { buildReferenceProfile, type NumericalColumnProfile } from "./profile.js";
import { scanAgainstReference } from "./reference-scan.js";

describe("scanAgainstReference", () => {
  it("gives scipy's KS statistic and Wasserstein distance without sorting the current sample", () => {
    let checked = 0;
    for (const c of columnCases()) {
      if (c.kind !== "numerical" || c.scipy?.ks_statistic === undefined) continue;
      const profile = buildReferenceProfile([{ name: "x", kind: "numerical" }], { x: cleaned(c.reference, "numerical") });
      const cur = Float64Array.from(cleaned(c.current, "numerical") as number[]);
      const scan = scanAgainstReference(profile.columns[0] as NumericalColumnProfile, cur, cur.length);
      assertClose(scan.ksStatistic, c.scipy.ks_statistic, `${c.name} KS`);
      assertClose(scan.wasserstein, c.scipy.wasserstein_distance!, `${c.name} W1`);
      checked++;
    }
    assert.ok(checked > 30);
  });
});
