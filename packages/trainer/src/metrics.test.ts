import assert from "node:assert/strict";
import { test } from "node:test";
import { fixture } from "./fixture.test-helper.js";
import { evaluateBinary, expectedCalibrationError, logLoss, maxF1Threshold, rocAuc } from "./metrics.js";

const scores = fixture.cases[0]!.proba;
const labels = fixture.y;
const close = (a: number | undefined, b: number, what: string) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-12, `${what}: ${a} vs scikit-learn ${b}`);

test("AUC, log loss, accuracy, precision, recall equal scikit-learn's on the fixture scores", () => {
  const m = evaluateBinary(labels, scores, 0.5);
  close(m.auc, fixture.metrics.auc, "roc_auc_score");
  close(m.logLoss, fixture.metrics.log_loss, "log_loss");
  close(m.accuracy, fixture.metrics.accuracy, "accuracy_score");
  close(m.precision, fixture.metrics.precision, "precision_score");
  close(m.recall, fixture.metrics.recall, "recall_score");
  close(m.calibrationError, fixture.metrics.ece, "ECE (numpy, 10 bins)");
  assert.equal(m.rows, labels.length);
  assert.equal(m.positives, labels.filter((y) => y === 1).length);
});

test("AUC counts tied scores as half, like roc_auc_score", () => {
  close(rocAuc(labels, scores.map((p) => Math.round(p * 10) / 10)), fixture.metrics.auc_tied_scores, "roc_auc_score on rounded scores");
});

test("small cases worked by hand", () => {
  // positives {0.9, 0.4}, negatives {0.5, 0.1}: pairs won 3 of 4 → 0.75.
  assert.equal(rocAuc([1, 0, 1, 0], [0.9, 0.5, 0.4, 0.1]), 0.75);
  assert.equal(rocAuc([1, 1], [0.2, 0.3]), undefined);
  // −(ln 0.8 + ln 0.6) / 2
  close(logLoss([1, 0], [0.8, 0.4]), -(Math.log(0.8) + Math.log(0.6)) / 2, "log loss");
  assert.ok(Number.isFinite(logLoss([1], [0])), "p = 0 is clipped, not −∞");
  // Bins: 0.05,0.05 → bin 0 (labels 0,1: |0.5 − 0.05| = 0.45), 0.95 → bin 9 (|1 − 0.95| = 0.05); 1.0 goes to bin 9 too.
  close(expectedCalibrationError([0, 1, 1], [0.05, 0.05, 0.95]), (2 / 3) * 0.45 + (1 / 3) * 0.05, "ECE");
  close(expectedCalibrationError([1], [1]), 0, "score 1.0 in the last bin");
  const none = evaluateBinary([0, 1], [0.1, 0.2], 0.9);
  assert.equal(none.precision, 0, "nothing predicted positive: precision 0 (zero_division=0)");
  assert.equal(none.recall, 0);
});

test("the max-F1 threshold is the score where F1 peaks", () => {
  // Sorted: 0.9(1) 0.8(1) 0.7(0) 0.6(1) 0.2(0). F1 at ≥0.9: 2/4=0.5, ≥0.8: 4/5=0.8, ≥0.7: 4/6, ≥0.6: 6/7≈0.857, ≥0.2: 6/8.
  assert.equal(maxF1Threshold([1, 1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6, 0.2]), 0.6);
});
