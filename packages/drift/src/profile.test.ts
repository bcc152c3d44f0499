import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriftError } from "./errors.js";
import { buildReferenceProfile, profileFromJson, profileToJson, type NumericalColumnProfile } from "./profile.js";

const schema = [
  { name: "amount", kind: "numerical" },
  { name: "country", kind: "categorical" },
] as const;

describe("buildReferenceProfile", () => {
  it("keeps finite values as distinct values with counts and drops missing ones as Evidently does", () => {
    const p = buildReferenceProfile(schema, {
      amount: [3, 1, Number.NaN, 3, Infinity, null, -Infinity, 2, "x"],
      country: ["DE", null, "FR", "DE", Number.NaN, 7],
    });
    const amount = p.columns[0] as NumericalColumnProfile;
    assert.deepEqual([...amount.values], [1, 2, 3]);
    assert.deepEqual([...amount.counts], [1, 1, 2]);
    assert.equal(amount.rowCount, 9);
    assert.equal(amount.missingCount, 5);
    assert.equal(amount.size, 4);
    assert.equal(amount.std, Math.sqrt(((1 - 2.25) ** 2 + (2 - 2.25) ** 2 + 2 * (3 - 2.25) ** 2) / 4));
    const country = p.columns[1]!;
    assert.equal(country.kind, "categorical");
    if (country.kind === "categorical") {
      assert.deepEqual([...country.counts], [
        ["DE", 2],
        ["FR", 1],
        ["7", 1],
      ]);
      assert.equal(country.missingCount, 2);
    }
  });

  it("refuses a missing column and duplicate names with typed errors", () => {
    const cases: Array<[() => unknown, string]> = [
      [() => buildReferenceProfile(schema, { amount: [1] }), "UNKNOWN_COLUMN"],
      [() => buildReferenceProfile([schema[0], schema[0]], { amount: [1] }), "INVALID_ARGUMENT"],
    ];
    for (const [fn, code] of cases) assert.throws(fn, (e: unknown) => e instanceof DriftError && e.code === code);
  });
});

describe("profileToJson / profileFromJson", () => {
  it("round-trips bit for bit through JSON text", () => {
    const p = buildReferenceProfile(schema, { amount: [0.1, 0.2, 0.30000000000000004, 1e-300, -5, 0.1], country: ["a", "b"] });
    const back = profileFromJson(JSON.parse(JSON.stringify(profileToJson(p))));
    assert.deepEqual(back, p);
  });

  it("omits counts when every value occurs once", () => {
    const json = profileToJson(buildReferenceProfile([schema[0]], { amount: [1, 2, 3] }));
    assert.equal("counts" in json.columns[0]!, false);
  });

  it("rejects malformed profiles with INVALID_PROFILE", () => {
    const good = profileToJson(buildReferenceProfile(schema, { amount: [1, 2], country: ["a"] }));
    const cases: unknown[] = [
      null,
      { ...good, format: "other" },
      { ...good, columns: [{ ...good.columns[0]!, values: Buffer.from(new Float64Array([2, 1]).buffer).toString("base64") }] },
      { ...good, columns: [{ ...good.columns[0]!, missingCount: 5 }] },
      { ...good, columns: [{ ...good.columns[1]!, categories: [["a", -1]] }] },
      { ...good, columns: [{ ...good.columns[0]!, kind: "text" }] },
    ];
    for (const bad of cases) {
      assert.throws(() => profileFromJson(bad), (e: unknown) => e instanceof DriftError && e.code === "INVALID_PROFILE");
    }
  });
});
