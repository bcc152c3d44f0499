import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jensenShannon, kl, psi } from "./divergence.js";
import { assertClose, cleaned, columnCases } from "./fixtures.test-helper.js";

const methods = [
  ["psi", psi],
  ["kl_div", kl],
  ["jensenshannon", jensenShannon],
] as const;

describe("psi, kl, jensenShannon", () => {
  for (const [name, fn] of methods) {
    it(`${name} equals Evidently's stattest on every recorded case`, () => {
      let checked = 0;
      for (const c of columnCases()) {
        const expected = c.stattests?.[name];
        if (expected === undefined) continue;
        const actual = fn(cleaned(c.reference, c.kind), cleaned(c.current, c.kind), c.kind);
        assertClose(actual, expected.score, `${c.name} ${name}`);
        checked++;
      }
      assert.ok(checked > 30, `only ${checked} cases checked`);
    });
  }

  it("reproduces the REFERENCES.md worked example (ref 1..30, cur 6..35)", () => {
    const ref = Array.from({ length: 30 }, (_, i) => i + 1);
    const cur = Array.from({ length: 30 }, (_, i) => i + 6);
    const cases: Array<[number, number]> = [
      [psi(ref, cur, "numerical"), 2.4713765847354927],
      [kl(ref, cur, "numerical"), 1.2355647358941568],
      [jensenShannon(ref, cur, "numerical"), 0.3398889967229363],
    ];
    for (const [actual, expected] of cases) assertClose(actual, expected, "worked example");
  });
});
