import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { builtinRegistry, getFeatureSet, getFeatureView } from "./builtin-registry.js";
import { FeatureError, type FeatureErrorCode } from "./errors.js";
import { defineFeatureView } from "./feature-view.js";
import { cardTxnView } from "./fraud.js";
import { createFeatureRegistry } from "./registry.js";

const code = (fn: () => unknown): FeatureErrorCode | undefined => {
  try {
    fn();
  } catch (err) {
    if (err instanceof FeatureError) return err.code;
    throw err;
  }
  return undefined;
};

const merchantView = defineFeatureView({
  name: "merchant_txn",
  entity: "merchant",
  sources: { transaction: { amount: "number" } },
  features: [{ name: "n_1h", aggregation: "count", window: "1h" }],
});

describe("builtin registry", () => {
  it("loads card_txn and fraud_v1 by name", () => {
    assert.equal(getFeatureView("card_txn"), cardTxnView);
    const set = getFeatureSet("fraud_v1");
    assert.equal(set.entity, "card");
    assert.equal(set.refs[0], "card_txn:txn_count_10m");
    assert.ok(set.features.every((f) => f.feature.valueType === "number"));
  });
  it("card_txn covers 10m/1h/24h/7d velocity and the last values", () => {
    const names = cardTxnView.features.map((f) => f.name);
    for (const w of ["10m", "1h", "24h", "7d"]) for (const p of ["txn_count", "amount_sum", "amount_mean", "amount_max"]) assert.ok(names.includes(`${p}_${w}`));
    for (const n of ["merchant_categories_24h", "countries_24h", "last_amount", "last_country", "last_channel"]) assert.ok(names.includes(n));
  });
  const errors: Array<[string, () => unknown, FeatureErrorCode]> = [
    ["unknown view", () => getFeatureView("nope"), "UNKNOWN_VIEW"],
    ["unknown set", () => getFeatureSet("nope"), "UNKNOWN_FEATURE_SET"],
    ["malformed ref", () => builtinRegistry.resolve("card_txn"), "INVALID_FEATURE_REF"],
    ["unknown feature", () => builtinRegistry.resolve("card_txn:nope"), "UNKNOWN_FEATURE"],
    ["ref to unknown view", () => builtinRegistry.resolve("nope:x"), "UNKNOWN_VIEW"],
  ];
  for (const [name, fn, expected] of errors) it(`throws ${expected} for ${name}`, () => assert.equal(code(fn), expected));
});

describe("createFeatureRegistry", () => {
  const cases: Array<[string, () => unknown, FeatureErrorCode]> = [
    ["duplicate view", () => createFeatureRegistry({ views: [cardTxnView, cardTxnView] }), "INVALID_DEFINITION"],
    ["set mixing entities", () => createFeatureRegistry({ views: [cardTxnView, merchantView], featureSets: [{ name: "s", features: ["card_txn:txn_count_1h", "merchant_txn:n_1h"] }] }), "INVALID_DEFINITION"],
    ["set listing a ref twice", () => createFeatureRegistry({ views: [cardTxnView], featureSets: [{ name: "s", features: ["card_txn:txn_count_1h", "card_txn:txn_count_1h"] }] }), "INVALID_DEFINITION"],
    ["set with an unknown feature", () => createFeatureRegistry({ views: [cardTxnView], featureSets: [{ name: "s", features: ["card_txn:zzz"] }] }), "UNKNOWN_FEATURE"],
    [
      "conflicting schemas for card/transaction",
      () =>
        createFeatureRegistry({
          views: [cardTxnView, defineFeatureView({ name: "other", entity: "card", sources: { transaction: { amount: "string" } }, features: [{ name: "a", aggregation: "last", field: "amount", window: "1h" }] })],
        }),
      "INVALID_DEFINITION",
    ],
  ];
  for (const [name, fn, expected] of cases) it(`refuses ${name}`, () => assert.equal(code(fn), expected));
});
