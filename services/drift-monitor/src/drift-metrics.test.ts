import assert from "node:assert/strict";
import { test } from "node:test";
import { createMetrics } from "@loopline/kit";
import { createDriftMetrics } from "./drift-metrics.js";
import { createDriftMonitor } from "./monitor.js";
import { manualClock, prediction, testVersion } from "./test-data.test-helper.js";

async function values(metrics: ReturnType<typeof createMetrics>, name: string) {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).map((v) => ({ labels: v.labels, value: v.value }));
}

test("performance gauges follow the newest window with labels; a late refresh of an older window does not roll them back", async () => {
  const metrics = createMetrics({ service: "t", defaultMetrics: false });
  const dm = createDriftMetrics(metrics);
  const clock = manualClock();
  const m = createDriftMonitor({ windowSize: 2, windowIntervalMs: 1e9, minWindow: 1, refreshIntervalMs: 0, now: clock.now });
  const v = testVersion({ auc: 0.9 });
  // Window 1: q0 (0.2), q1 (0.8); window 2: q2 (0.8), q3 (0.2).
  [0.2, 0.8, 0.8, 0.2].forEach((score, i) => m.addPrediction(prediction({ requestId: `q${i}`, score }), v));
  for (const e of m.takeReports()) dm.observe(e);
  assert.deepEqual(await values(metrics, "loopline_model_auc"), [], "no labels: no AUC");
  // Window 2 labelled first: positive q2 ranked first → AUC 1. Then window 1 labelled inversely → AUC 0.
  m.addLabel({ requestId: "q2", entityId: "", eventTimeMs: 0, label: 1, labelTimeMs: 0 });
  m.addLabel({ requestId: "q3", entityId: "", eventTimeMs: 0, label: 0, labelTimeMs: 0 });
  m.tick();
  m.addLabel({ requestId: "q0", entityId: "", eventTimeMs: 0, label: 1, labelTimeMs: 0 });
  m.addLabel({ requestId: "q1", entityId: "", eventTimeMs: 0, label: 0, labelTimeMs: 0 });
  m.tick();
  const refreshes = m.takeReports();
  assert.deepEqual(refreshes.map((e) => [e.sequence, e.report.performance?.auc]), [[2, 1], [1, 0]]);
  for (const e of refreshes) dm.observe(e);
  assert.deepEqual(await values(metrics, "loopline_model_auc"), [{ labels: { service: "t", model: "fraud", version: "1", route: "production", segment: "" }, value: 1 }]);
  assert.deepEqual((await values(metrics, "loopline_model_reference_auc")).map((x) => x.value), [0.9]);
  assert.ok((await values(metrics, "loopline_drift_score")).some((x) => x.labels["feature"] === "score"), "prediction drift is feature=\"score\"");
  dm.forget(refreshes[0]!.series);
  assert.deepEqual(await values(metrics, "loopline_model_auc"), []);
  assert.deepEqual(await values(metrics, "loopline_drift_score"), []);
});
