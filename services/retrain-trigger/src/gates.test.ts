import assert from "node:assert/strict";
import { test } from "node:test";
import type { BinaryMetrics } from "@loopline/trainer";
import { canaryGate, offlineGate, shadowGate, watchVerdict, type LiveMetrics } from "./gates.js";
import { DEFAULT_POLICY } from "./policy-config.js";

const metrics = (auc: number | undefined, calibrationError = 0.02): BinaryMetrics => ({ rows: 1000, positives: 300, auc, logLoss: 0.4, calibrationError, threshold: 0.5, accuracy: 0.8, precision: 0.7, recall: 0.6 });
const offline = { aucEpsilon: 0.005, minAuc: 0.6, maxCalibrationError: 0.1, latencyBudgetMs: 2 };

test("offline gate: AUC against the champion on the same holdout, calibration bound, latency budget", () => {
  const cases: [string, Parameters<typeof offlineGate>[0], "passed" | "failed", string[]][] = [
    ["better challenger", { challenger: metrics(0.86), champion: metrics(0.84), latencyP50Ms: 0.3 }, "passed", []],
    ["within ε below", { challenger: metrics(0.836), champion: metrics(0.84), latencyP50Ms: 0.3 }, "passed", []],
    ["beyond ε below", { challenger: metrics(0.834), champion: metrics(0.84), latencyP50Ms: 0.3 }, "failed", ["auc"]],
    ["no AUC (one class)", { challenger: metrics(undefined), champion: metrics(0.84), latencyP50Ms: 0.3 }, "failed", ["auc"]],
    ["first version above minimum", { challenger: metrics(0.61), champion: undefined, latencyP50Ms: 0.3 }, "passed", []],
    ["first version below minimum", { challenger: metrics(0.59), champion: undefined, latencyP50Ms: 0.3 }, "failed", ["auc"]],
    ["badly calibrated", { challenger: metrics(0.9, 0.11), champion: metrics(0.84), latencyP50Ms: 0.3 }, "failed", ["calibration"]],
    ["too slow", { challenger: metrics(0.9), champion: metrics(0.84), latencyP50Ms: 2.5 }, "failed", ["latency"]],
    ["everything wrong", { challenger: metrics(0.5, 0.3), champion: metrics(0.84), latencyP50Ms: 9 }, "failed", ["auc", "calibration", "latency"]],
    ["latency not measured", { challenger: metrics(0.9), champion: metrics(0.84), latencyP50Ms: undefined }, "passed", []],
  ];
  for (const [name, inputs, status, failed] of cases) {
    const result = offlineGate(inputs, offline);
    assert.equal(result.status, status, name);
    assert.deepEqual(result.checks.filter((c) => !c.passed).map((c) => c.name), failed, name);
  }
});

// 400 requests: labels alternate; the "good" model ranks every positive above every negative, the
// "noisy" one is a fixed pseudo-random permutation.
const n = 400;
const labels = Array.from({ length: n }, (_, i) => i % 2);
const good = labels.map((y, i) => (y === 1 ? 0.6 : 0.1) + (i % 7) / 100);
const noisy = labels.map((_, i) => ((i * 7919) % 401) / 401);
const shadow = { minLabelled: 200, confidence: 0.95, aucEpsilon: 0.01, resamples: 300, timeoutMs: 1000 };

test("shadow gate: waits for enough pairs, then passes a better challenger and fails a worse one", () => {
  const few = { labels: labels.slice(0, 100), champion: noisy.slice(0, 100), challenger: good.slice(0, 100) };
  assert.equal(shadowGate(few, shadow, 0, 1).status, "waiting");
  assert.equal(shadowGate(few, shadow, 1000, 1).status, "failed", "timeout without enough evidence");
  assert.equal(shadowGate({ labels, champion: noisy, challenger: good }, shadow, 0, 1).status, "passed");
  assert.equal(shadowGate({ labels, champion: good, challenger: noisy }, shadow, 0, 1).status, "failed");
  // Identical models: the difference is exactly 0 in every resample, non-inferior.
  assert.equal(shadowGate({ labels, champion: good, challenger: good }, shadow, 0, 1).status, "passed");
  const oneClass = { labels: labels.map(() => 1), champion: good, challenger: good };
  assert.equal(shadowGate(oneClass, shadow, 0, 1).status, "waiting");
});

const live = (labelled: number, auc: number | undefined): LiveMetrics => ({ labelled, auc, predictions: labelled * 2, degraded: 0 });
const canary = { percent: 10, minLabelled: 100, maxAucDrop: 0.02, timeoutMs: 1000 };

test("canary gate: both routes need labels; canary AUC ≥ production − drop", () => {
  const cases: [string, LiveMetrics, LiveMetrics, number, string][] = [
    ["not enough canary labels", live(99, 0.9), live(500, 0.8), 0, "waiting"],
    ["not enough production labels", live(500, 0.9), live(10, 0.8), 0, "waiting"],
    ["timed out", live(10, 0.9), live(500, 0.8), 1000, "failed"],
    ["better", live(200, 0.85), live(500, 0.84), 0, "passed"],
    ["within the drop", live(200, 0.821), live(500, 0.84), 0, "passed"],
    ["worse", live(200, 0.81), live(500, 0.84), 0, "failed"],
  ];
  for (const [name, c, p, elapsed, status] of cases) assert.equal(canaryGate(c, p, canary, elapsed).status, status, name);
});

test("rollback watch: AUC regression beyond δ or a degraded-share spike rolls back; a quiet window confirms", () => {
  const rollback = { ...DEFAULT_POLICY.rollback, watchMs: 1000, aucDrop: 0.05, minLabelled: 100, maxDegradedShare: 0.2, minPredictions: 50 };
  const base = { auc: 0.84, labelled: 500, baselineAuc: 0.86, predictions: 1000, degraded: 10 };
  const cases: [string, Parameters<typeof watchVerdict>[0], number, string][] = [
    ["healthy, window open", base, 10, "watch"],
    ["healthy, window over", base, 1000, "confirmed"],
    ["AUC 0.80 < 0.86 − 0.05", { ...base, auc: 0.8 }, 10, "rollback"],
    ["AUC exactly baseline − δ", { ...base, auc: 0.81 }, 10, "watch"],
    ["regression on too few labels", { ...base, auc: 0.5, labelled: 99 }, 10, "watch"],
    ["no live AUC yet", { ...base, auc: undefined }, 10, "watch"],
    ["degraded 25%", { ...base, degraded: 250 }, 10, "rollback"],
    ["degraded share on too few predictions", { ...base, predictions: 40, degraded: 40 }, 10, "watch"],
  ];
  for (const [name, facts, elapsed, action] of cases) assert.equal(watchVerdict(facts, rollback, elapsed).action, action, name);
});
