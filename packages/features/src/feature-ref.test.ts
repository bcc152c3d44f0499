import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FeatureError } from "./errors.js";
import { formatFeatureRef, parseFeatureRef } from "./feature-ref.js";

describe("parseFeatureRef", () => {
  it("splits view and feature", () => {
    assert.deepEqual(parseFeatureRef("card_txn:txn_count_1h"), { view: "card_txn", feature: "txn_count_1h" });
  });
  it("round-trips through formatFeatureRef", () => {
    assert.equal(formatFeatureRef(parseFeatureRef("v1:f2")), "v1:f2");
  });
  for (const bad of ["", "card_txn", "card_txn:", ":f", "a:b:c", "Card:x", "card txn:x", "card:1x", `v:${"x".repeat(65)}`]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseFeatureRef(bad), (err: unknown) => err instanceof FeatureError && err.code === "INVALID_FEATURE_REF");
    });
  }
});
