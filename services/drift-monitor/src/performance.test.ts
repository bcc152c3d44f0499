import assert from "node:assert/strict";
import { test } from "node:test";
import { performanceCases } from "./fixtures.test-helper.js";
import { LOG_LOSS_EPS, calibration, classificationRates, confusionAt, logLoss, rocAuc, summarizePerformance } from "./performance.js";

// Reference values: fixtures/performance.json, recorded from scikit-learn by fixtures/make_performance_fixtures.py.

const close = (actual: number | undefined, expected: number | null, what: string, tolerance = 1e-12) => {
  if (expected === null) {
    assert.equal(actual, undefined, `${what}: undefined`);
    return;
  }
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: ${String(actual)} vs sklearn ${expected}`);
};

for (const c of performanceCases()) {
  test(`${c.name}: AUC, accuracy, precision, recall, log loss and calibration match scikit-learn`, () => {
    const e = c.expected;
    close(rocAuc(c.scores, c.labels), e.auc, "roc_auc_score");
    const rates = classificationRates(confusionAt(c.scores, c.labels, c.threshold));
    close(rates.accuracy, e.accuracy, "accuracy_score");
    close(rates.precision, e.precision, "precision_score");
    close(rates.recall, e.recall, "recall_score");
    close(logLoss(c.scores, c.labels), e.log_loss, "log_loss");
    const cal = calibration(c.scores, c.labels);
    assert.equal(cal.bins.length, 10);
    const populated = cal.bins.filter((b) => b.count > 0);
    assert.deepEqual(populated.map((b) => b.count), e.calibration.counts, "bin populations");
    populated.forEach((b, i) => {
      close(b.positiveRate, e.calibration.positive_rate[i]!, `prob_true[${i}]`);
      close(b.meanScore, e.calibration.mean_score[i]!, `prob_pred[${i}]`);
    });
    close(cal.expectedCalibrationError, e.calibration.ece, "ECE");
    const summary = summarizePerformance(c.scores, c.labels, c.threshold);
    assert.ok(summary);
    assert.equal(summary.labelled, e.labelled);
    assert.equal(summary.positives, e.positives);
    assert.equal(summary.threshold, c.threshold);
    close(summary.auc, e.auc, "summary auc");
    close(summary.logLoss, e.log_loss, "summary log loss");
    close(summary.calibrationError, e.calibration.ece, "summary ECE");
  });
}

test("log loss of a confidently wrong answer is -ln(eps), not infinity", () => {
  // Worked by hand: p = 1 for a negative → 1 - p = 0 is clipped to eps.
  assert.equal(logLoss([1], [0]), -Math.log(LOG_LOSS_EPS));
  assert.equal(logLoss([0], [1]), -Math.log(LOG_LOSS_EPS));
  assert.ok(Math.abs(-Math.log(LOG_LOSS_EPS) - 36.04365338911715) < 1e-12);
});

test("scores outside [0, 1] are clipped for log loss and calibration", () => {
  assert.equal(logLoss([1.7], [1]), logLoss([1], [1]));
  assert.equal(logLoss([-3], [1]), logLoss([0], [1]));
  const cal = calibration([-0.5, 1.5], [0, 1]);
  assert.equal(cal.bins[0]?.count, 1);
  assert.equal(cal.bins[9]?.count, 1);
  assert.equal(cal.expectedCalibrationError, 0);
});

test("AUC counts tied scores across classes as half a concordant pair", () => {
  // Hand-worked: positives {0.8, 0.5}, negatives {0.5, 0.2}: pairs (0.8,0.5) (0.8,0.2) (0.5,0.2) concordant,
  // (0.5,0.5) tied → (3 + 0.5) / 4.
  assert.equal(rocAuc([0.8, 0.5, 0.5, 0.2], [1, 1, 0, 0]), 0.875);
});

test("nothing labelled: no performance summary", () => {
  assert.equal(summarizePerformance([], [], 0.5), undefined);
  assert.throws(() => summarizePerformance([0.1], [], 0.5), RangeError);
});
