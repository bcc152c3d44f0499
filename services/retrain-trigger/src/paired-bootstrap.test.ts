import assert from "node:assert/strict";
import { test } from "node:test";
import { pairedBootstrapAuc } from "./paired-bootstrap.js";

test("point estimates are the two AUCs on the full sample (worked by hand)", () => {
  // labels 1,0,1,0; champion ranks: pairs (pos, neg) won 3 of 4 → 0.75; challenger separates perfectly → 1.
  const d = pairedBootstrapAuc({ labels: [1, 0, 1, 0], champion: [0.9, 0.5, 0.4, 0.1], challenger: [0.9, 0.2, 0.8, 0.1] }, { resamples: 200, confidence: 0.9, seed: 3 });
  assert.ok(d !== undefined);
  assert.equal(d.championAuc, 0.75);
  assert.equal(d.challengerAuc, 1);
  assert.equal(d.difference, 0.25);
  assert.ok(d.lower <= d.difference && d.difference <= d.upper);
});

test("the same seed gives the same bounds; the bounds narrow as the sample grows", () => {
  const make = (n: number) => {
    const labels = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const champion = labels.map((y, i) => y * 0.3 + ((i * 37) % 101) / 101);
    const challenger = labels.map((y, i) => y * 0.5 + ((i * 53) % 103) / 103);
    return { labels, champion, challenger };
  };
  const a = pairedBootstrapAuc(make(150), { resamples: 400, confidence: 0.95, seed: 11 });
  const b = pairedBootstrapAuc(make(150), { resamples: 400, confidence: 0.95, seed: 11 });
  assert.deepEqual(a, b);
  const big = pairedBootstrapAuc(make(1500), { resamples: 400, confidence: 0.95, seed: 11 });
  assert.ok(a !== undefined && big !== undefined);
  assert.ok(big.upper - big.lower < a.upper - a.lower, `width ${big.upper - big.lower} vs ${a.upper - a.lower}`);
});

test("a sample with one class has no AUC difference", () => {
  assert.equal(pairedBootstrapAuc({ labels: [1, 1], champion: [0.1, 0.2], challenger: [0.3, 0.4] }, { resamples: 10, confidence: 0.9, seed: 1 }), undefined);
});
