import assert from "node:assert/strict";
import { test } from "node:test";
import { auc } from "./story.js";

test("AUC by hand: perfect, inverted, ties and one-class cases", () => {
  assert.equal(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  // Pairs (pos, neg): (0.5 vs 0.5) tie = ½, (0.5 vs 0.1) = 1, (0.9 vs 0.5) = 1, (0.9 vs 0.1) = 1 → 3.5 / 4.
  assert.equal(auc([0.5, 0.9, 0.5, 0.1], [1, 1, 0, 0]), 0.875);
  assert.equal(auc([0.3, 0.4], [1, 1]), undefined);
});
