import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FeatureError } from "./errors.js";
import { defineFeatureView, type FeatureViewDefinition } from "./feature-view.js";

const base: FeatureViewDefinition = {
  name: "v",
  entity: "card",
  sources: { transaction: { amount: "number", country: "string", note: { type: "string", optional: true } }, refund: { amount: "number" } },
  features: [{ name: "n_1h", aggregation: "count", window: "1h" }],
};

describe("defineFeatureView", () => {
  it("fills documented defaults", () => {
    const view = defineFeatureView({
      ...base,
      features: [
        { name: "n_1h", aggregation: "count", window: "1h" },
        { name: "sum_7d", aggregation: "sum", field: "amount", window: "7d", types: ["transaction"] },
        { name: "last_country", aggregation: "last", field: "country", window: "24h", types: ["transaction"] },
        { name: "mean_10m", aggregation: "mean", field: "amount", window: "10m", maxAge: "1h" },
      ],
    });
    assert.equal(view.allowedLatenessMs, 300_000); // default "5m"
    assert.equal(view.maxWindowMs, 604_800_000); // 7d
    assert.equal(view.retentionMs, 604_800_000); // max(7d, 5m)
    assert.deepEqual(view.sourceTypes, ["refund", "transaction"]);
    const [n, sum, last, mean] = view.features;
    assert.deepEqual([n?.defaultValue, n?.maxAgeMs, n?.types, n?.valueType], [0, 3_600_000, ["refund", "transaction"], "number"]);
    assert.deepEqual([sum?.defaultValue, sum?.maxAgeMs], [0, 604_800_000]);
    assert.deepEqual([last?.defaultValue, last?.valueType], [null, "string"]);
    assert.deepEqual([mean?.defaultValue, mean?.maxAgeMs], [null, 3_600_000]);
    assert.equal(view.feature("sum_7d"), sum);
  });

  it("fingerprints what shapes state, and only that", () => {
    const a = defineFeatureView(base);
    assert.equal(defineFeatureView({ ...base, description: "changed" }).fingerprint, a.fingerprint);
    assert.notEqual(defineFeatureView({ ...base, allowedLateness: "1m" }).fingerprint, a.fingerprint);
    assert.notEqual(defineFeatureView({ ...base, features: [{ name: "n_1h", aggregation: "count", window: "2h" }] }).fingerprint, a.fingerprint);
  });

  const invalid: Array<[string, Partial<FeatureViewDefinition>, RegExp]> = [
    ["bad view name", { name: "Card-Txn" }, /name/],
    ["no sources", { sources: {} }, /no source event type/],
    ["no features", { features: [] }, /no feature/],
    ["bad field type", { sources: { transaction: { amount: "decimal" as never } } }, /type must be/],
    ["duplicate feature", { features: [{ name: "a", aggregation: "count", window: "1h" }, { name: "a", aggregation: "count", window: "2h" }] }, /duplicate feature a/],
    ["unknown aggregation", { features: [{ name: "a", aggregation: "median" as never, window: "1h" }] }, /unknown aggregation/],
    ["sum without field", { features: [{ name: "a", aggregation: "sum", window: "1h" }] }, /needs a field/],
    ["sum of a string", { features: [{ name: "a", aggregation: "sum", field: "country", window: "1h", types: ["transaction"] }] }, /needs a number field/],
    ["field missing in a read type", { features: [{ name: "a", aggregation: "last", field: "country", window: "1h" }] }, /refund has no field "country"/],
    ["unknown type", { features: [{ name: "a", aggregation: "count", window: "1h", types: ["login"] }] }, /not a source type/],
    ["zero window", { features: [{ name: "a", aggregation: "count", window: "0s" }] }, /longer than 0/],
    ["bad window", { features: [{ name: "a", aggregation: "count", window: "1 hour" }] }, /not a duration/],
    ["where of the wrong type", { features: [{ name: "a", aggregation: "count", window: "1h", types: ["transaction"], where: { country: 1 } }] }, /must be a string/],
    ["default of the wrong type", { features: [{ name: "a", aggregation: "count", window: "1h", default: "none" }] }, /must be null or a number/],
  ];
  for (const [name, patch, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => defineFeatureView({ ...base, ...patch }),
        (err: unknown) => err instanceof FeatureError && err.code === "INVALID_DEFINITION" && message.test(err.message),
      );
    });
  }
});
