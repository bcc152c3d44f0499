import assert from "node:assert/strict";
import { test } from "node:test";
import { Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import type { DriftReport } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import type { LabelInput } from "./decode.js";
import { performanceCase, type PerformanceCase } from "./fixtures.test-helper.js";
import { createDriftMonitor, type DriftMonitorOptions, type EmittedReport } from "./monitor.js";
import { NOTE_NO_SCORE_REFERENCE, NOTE_SEGMENT_KEY } from "./report-builder.js";
import { manualClock, prediction, profileBytes, profileColumns, referenceData, rng, testVersion } from "./test-data.test-helper.js";

const version = testVersion();

function monitor(options: Partial<DriftMonitorOptions> & { clock?: ReturnType<typeof manualClock> } = {}) {
  const clock = options.clock ?? manualClock();
  let id = 0;
  return createDriftMonitor({ windowSize: 100, windowIntervalMs: 3_600_000, minWindow: 10, now: clock.now, newId: () => `r${++id}`, ...options });
}

const column = (r: DriftReport, name: string) => {
  const c = r.features.find((f) => f.column === name);
  assert.ok(c, `column ${name}`);
  return c;
};

test("a window is reported when it fills: every windowSize predictions, each prediction in exactly one window", () => {
  const m = monitor({ windowSize: 100 });
  for (let i = 0; i < 250; i++) m.addPrediction(prediction({ requestId: `q${i}`, timeMs: 5000 + i }), version);
  const reports = m.takeReports();
  assert.deepEqual(reports.map((r) => Number(r.report.nCurrent)), [100, 100]);
  assert.deepEqual(reports.map((r) => [Number(r.report.windowStartMs), Number(r.report.windowEndMs)]), [[5000, 5099], [5100, 5199]]);
  assert.deepEqual(reports.map((r) => r.report.reportId), ["r1", "r2"]);
  assert.equal(m.stats.openPredictions, 50);
  m.closeAll(); // shutdown: the partial window holds ≥ minWindow predictions
  assert.deepEqual(m.takeReports().map((r) => [Number(r.report.nCurrent), Number(r.report.windowStartMs)]), [[50, 5200]]);
});

test("a window is reported when its interval passes, but only once it holds minWindow predictions", () => {
  const clock = manualClock();
  const m = monitor({ clock, windowSize: 1000, windowIntervalMs: 60_000, minWindow: 20 });
  for (let i = 0; i < 10; i++) m.addPrediction(prediction({ requestId: `a${i}` }), version);
  clock.advance(61_000);
  m.tick();
  assert.equal(m.takeReports().length, 0, "10 < minWindow: the window stays open past its interval");
  for (let i = 0; i < 15; i++) m.addPrediction(prediction({ requestId: `b${i}` }), version);
  assert.equal(m.takeReports().length, 0, "the interval is checked on tick");
  m.tick();
  assert.deepEqual(m.takeReports().map((r) => Number(r.report.nCurrent)), [25]);
  // The next window's interval runs from its own first prediction.
  clock.advance(5_000);
  for (let i = 0; i < 30; i++) m.addPrediction(prediction({ requestId: `c${i}` }), version);
  clock.advance(59_999);
  m.tick();
  assert.equal(m.takeReports().length, 0);
  clock.advance(1);
  m.tick();
  assert.deepEqual(m.takeReports().map((r) => Number(r.report.nCurrent)), [30]);
});

test("a redelivered prediction (same request id, model version and route) is counted once", () => {
  const m = monitor({ windowSize: 10 });
  for (let i = 0; i < 10; i++) {
    assert.equal(m.addPrediction(prediction({ requestId: `q${i}`, timeMs: i }), version), true);
    assert.equal(m.addPrediction(prediction({ requestId: `q${i}`, timeMs: i }), version), false);
  }
  assert.deepEqual(m.takeReports().map((r) => Number(r.report.nCurrent)), [10]);
});

test("the dataset verdict uses the configured drift share, and the report says which", () => {
  const drifted = (driftShare: number | undefined) => {
    const m = monitor({ windowSize: 200, ...(driftShare === undefined ? {} : { driftShare }) });
    const r = rng(42);
    // Amounts shifted far from the reference, channels as in it (and every country the default, unlike
    // the reference): 2 of 3 tested features drift.
    for (let i = 0; i < 200; i++) m.addPrediction(prediction({ requestId: `q${i}`, amount: r.normal(160, 20), channel: r.pick(["pos", "ecom"]), score: r.uniform() }), version);
    const [report] = m.takeReports().map((e) => e.report);
    assert.ok(report);
    assert.equal(report.driftedCount, 2);
    assert.equal(report.driftedShare, 2 / 3);
    return [report.datasetDrift, report.driftShare];
  };
  assert.deepEqual(drifted(undefined), [true, 0.5], "Evidently's default drift_share is 0.5");
  assert.deepEqual(drifted(0.6), [true, 0.6]);
  assert.deepEqual(drifted(0.7), [false, 0.7]);
});

test("segments are isolated: amounts drifted in country=FR flag FR only, not US", () => {
  const m = monitor({ windowSize: 200, segmentKeys: [{ name: "country", featureRef: "t:country" }] });
  const r = rng(42);
  for (let i = 0; i < 400; i++) {
    const fr = i % 2 === 0;
    m.addPrediction(
      prediction({ requestId: `q${i}`, country: fr ? "FR" : "US", amount: r.normal(fr ? 160 : 100, 20), channel: r.pick(["pos", "ecom"]), score: r.uniform() }),
      version,
    );
  }
  const bySegment = new Map(m.takeReports().map((e) => [e.report.segment, e.report]));
  const fr = bySegment.get("country=FR");
  const us = bySegment.get("country=US");
  assert.ok(fr && us, [...bySegment.keys()].join(","));
  assert.equal(Number(fr.nCurrent), 200);
  assert.equal(column(fr, "t:amount").drifted, true);
  assert.equal(column(fr, "t:amount").method, "ks", "n_ref = 600 ≤ 1000: Evidently's KS");
  assert.equal(fr.datasetDrift, true, "1 of 2 tested features drifted: share 0.5 reaches the threshold");
  assert.equal(column(us, "t:amount").drifted, false);
  assert.equal(us.driftedCount, 0);
  assert.equal(us.datasetDrift, false);
  for (const r of [fr, us]) {
    assert.equal(column(r, "t:country").note, NOTE_SEGMENT_KEY);
    assert.equal(column(r, "t:country").drifted, false);
  }
  assert.equal(fr.driftedShare, 0.5);
  // All traffic is reported too: a mixture, reported on its own.
  assert.equal(Number(bySegment.get("")?.nCurrent), 200);
});

test("values beyond the segment cap are pooled; a prediction without the segment feature is still in all traffic", () => {
  const m = monitor({ windowSize: 5, maxSegmentValues: 2, segmentKeys: [{ name: "country", featureRef: "t:country" }] });
  for (const country of ["FR", "US", "DE", "IT", null]) for (let i = 0; i < 5; i++) m.addPrediction(prediction({ requestId: `${String(country)}${i}`, country }), version);
  const segments = m.takeReports().map((e) => e.report.segment);
  assert.deepEqual(
    segments.filter((s) => s !== "").sort(),
    ["country=(other)", "country=(other)", "country=(other)", "country=FR", "country=US"],
    "FR and US keep their name; DE, IT and the missing value (15 predictions) are pooled once the cap of 2 is reached",
  );
  assert.equal(segments.filter((s) => s === "").length, 5);
  const other = monitor({ windowSize: 5, segmentKeys: [{ name: "country", featureRef: "t:country" }] });
  for (let i = 0; i < 5; i++) other.addPrediction(prediction({ requestId: `n${i}`, features: new Map([["t:amount", 1]]) }), version);
  assert.deepEqual(other.takeReports().map((e) => e.report.segment), [""], "a model without t:country has no country segments");
});

test("a shift in the score distribution is prediction drift; features unchanged stay undrifted", () => {
  const m = monitor({ windowSize: 300 });
  const r = rng(7);
  for (let i = 0; i < 300; i++) m.addPrediction(prediction({ requestId: `q${i}`, amount: r.normal(100, 20), channel: r.pick(["pos", "ecom"]), country: r.pick(["FR", "US"]), score: 0.6 + 0.4 * r.uniform() }), version);
  const [report] = m.takeReports().map((e) => e.report);
  assert.ok(report?.prediction);
  assert.equal(report.prediction.column, "score");
  assert.equal(report.prediction.drifted, true);
  assert.equal(report.datasetDrift, false);
});

test("an empty or constant column is reported with a note, not fatal; a missing score column skips prediction drift", () => {
  const noScore = testVersion({ profile: profileBytes(profileColumns(false), referenceData(600)) });
  const m = monitor({ windowSize: 50 });
  for (let i = 0; i < 50; i++) m.addPrediction(prediction({ requestId: `q${i}`, amount: null, channel: "pos", country: i % 2 === 0 ? "FR" : "US" }), noScore);
  const [report] = m.takeReports().map((e) => e.report);
  assert.ok(report);
  const amount = column(report, "t:amount");
  assert.match(amount.note, /^empty-current/);
  assert.equal(amount.missingShareCurrent, 1);
  assert.equal(amount.drifted, false);
  assert.match(column(report, "t:channel").note, /constant-current/);
  assert.equal(report.prediction?.note, NOTE_NO_SCORE_REFERENCE);
  assert.equal(report.prediction?.method, "");
});

test("a version without a usable reference profile still gets windows, missing shares and performance", () => {
  const bare = testVersion({ profile: new TextEncoder().encode(JSON.stringify({ rows: 10, features: {} })) });
  const m = monitor({ windowSize: 4 });
  for (let i = 0; i < 4; i++) m.addPrediction(prediction({ requestId: `q${i}`, amount: i < 1 ? null : 5, score: i / 4 }), bare);
  const [report] = m.takeReports().map((e) => e.report);
  assert.ok(report);
  assert.match(column(report, "t:amount").note, /not a @loopline\/drift profile/);
  assert.equal(column(report, "t:amount").missingShareCurrent, 0.25);
  assert.equal(report.datasetDrift, false);
  assert.equal(report.driftedShare, 0);
});

/** Feeds a fixture case as the predictions of one window and returns them. */
function feedCase(m: ReturnType<typeof monitor>, c: PerformanceCase, prefix: string, t0: number) {
  return c.scores.map((score, i) => {
    const p = prediction({ requestId: `${prefix}${i}`, entityId: `${prefix}-e${i}`, timeMs: t0 + i * 1000, score });
    m.addPrediction(p, version);
    return { p, label: c.labels[i] as 0 | 1 };
  });
}

const assertPerformance = (r: DriftReport, c: PerformanceCase) => {
  const p = r.performance;
  assert.ok(p, "performance present");
  const e = c.expected;
  assert.equal(Number(p.labelled), e.labelled);
  assert.equal(Number(p.positives), e.positives);
  const near = (a: number | undefined, b: number | null, what: string) =>
    b === null ? assert.equal(a, undefined, what) : assert.ok(a !== undefined && Math.abs(a - b) < 1e-12, `${what}: ${String(a)} vs sklearn ${b}`);
  near(p.auc, e.auc, "auc");
  near(p.accuracy, e.accuracy, "accuracy");
  near(p.precision, e.precision, "precision");
  near(p.recall, e.recall, "recall");
  near(p.logLoss, e.log_loss, "log loss");
  near(p.calibrationError, e.calibration.ece, "ECE");
  assert.equal(p.threshold, c.threshold);
};

test("labels arriving late, out of order, duplicated, by request id or by entity and time: performance matches scikit-learn", () => {
  const c = performanceCase("ties"); // 400 predictions with tied scores
  const clock = manualClock();
  const m = monitor({ clock, windowSize: c.scores.length, refreshIntervalMs: 0 });
  // 40 labels arrive before their predictions (another partition ran ahead).
  const early: LabelInput[] = c.labels.slice(0, 40).map((label, i) => ({ requestId: `q${i}`, entityId: "", eventTimeMs: 0, label: label as 0 | 1, labelTimeMs: 0 }));
  for (const l of early) assert.equal(m.addLabel(l), 0, "nothing to join yet: the label waits");
  const fed = feedCase(m, c, "q", 1_000_000);
  const [closed] = m.takeReports();
  assert.equal(closed?.kind, "closed");
  assertPartial(closed, 40);
  // The rest, shuffled: odd ones by request id, even ones as entity-keyed labels with a slightly different event time.
  const r = rng(3);
  const rest = fed.slice(40).map(({ p, label }, i): LabelInput =>
    i % 2 === 1
      ? { requestId: p.requestId, entityId: "", eventTimeMs: 0, label, labelTimeMs: 0 }
      : { requestId: "", entityId: p.entityId, eventTimeMs: p.timeMs - 400, label, labelTimeMs: 0 },
  );
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(r.uniform() * (i + 1));
    [rest[i], rest[j]] = [rest[j] as LabelInput, rest[i] as LabelInput];
  }
  const refreshes: EmittedReport[] = [];
  rest.forEach((l, i) => {
    m.addLabel(l);
    if (i % 7 === 0) m.addLabel(l); // redelivered
    if (i % 50 === 0) {
      clock.advance(1000);
      m.tick();
      refreshes.push(...m.takeReports());
    }
  });
  clock.advance(1000);
  m.tick();
  refreshes.push(...m.takeReports());
  assert.ok(refreshes.length >= 2, "performance refreshed as labels landed");
  for (const e of refreshes) {
    assert.equal(e.kind, "refresh");
    assert.equal(e.report.reportId, closed?.report.reportId, "a refresh keeps the window's report id");
    assert.deepEqual(e.report.features, closed?.report.features, "and its drift part");
  }
  const labelledSeen = refreshes.map((e) => Number(e.report.performance?.labelled));
  assert.deepEqual(labelledSeen, [...labelledSeen].sort((a, b) => a - b), "labelled counts only grow");
  assertPerformance(refreshes.at(-1)?.report as DriftReport, c);
  assert.ok(Number(refreshes.at(-1)?.report.timeMs) > Number(closed?.report.timeMs));
});

function assertPartial(e: EmittedReport | undefined, labelled: number) {
  assert.ok(e);
  assert.equal(Number(e.report.performance?.labelled ?? 0), labelled);
}

test("each label is attributed to the window of its prediction", () => {
  const perfect = performanceCase("perfect");
  const inverted = performanceCase("inverted");
  const clock = manualClock();
  const m = monitor({ clock, windowSize: 1000, windowIntervalMs: 60_000, minWindow: 1, refreshIntervalMs: 0 });
  const a = feedCase(m, perfect, "a", 0);
  clock.advance(60_000);
  m.tick();
  const b = feedCase(m, inverted, "b", 100_000);
  clock.advance(60_000);
  m.tick();
  const [wa, wb] = m.takeReports();
  assert.equal(wa?.report.performance, undefined, "no labels yet: no performance");
  const labels = [...a, ...b].map(({ p, label }) => ({ requestId: p.requestId, entityId: "", eventTimeMs: 0, label, labelTimeMs: 0 }));
  for (const l of labels.reverse()) m.addLabel(l);
  m.tick();
  const refreshed = new Map(m.takeReports().map((e) => [e.report.reportId, e.report]));
  assertPerformance(refreshed.get(wa?.report.reportId ?? "") as DriftReport, perfect);
  assertPerformance(refreshed.get(wb?.report.reportId ?? "") as DriftReport, inverted);
});

test("a label by request id applies to the production and the shadow prediction of that request", () => {
  const m = monitor({ windowSize: 4, refreshIntervalMs: 0 });
  for (let i = 0; i < 4; i++) {
    m.addPrediction(prediction({ requestId: `q${i}`, score: i / 4 }), version);
    m.addPrediction(prediction({ requestId: `q${i}`, route: Route.SHADOW, modelVersion: "2", score: 1 - i / 4 }), testVersion({ version: "2" }));
  }
  assert.equal(m.takeReports().length, 2);
  for (let i = 0; i < 4; i++) assert.equal(m.addLabel({ requestId: `q${i}`, entityId: "", eventTimeMs: 0, label: i >= 2 ? 1 : 0, labelTimeMs: 0 }), 2);
  m.tick();
  const byRoute = new Map(m.takeReports().map((e) => [e.report.route, e.report.performance]));
  assert.equal(byRoute.get(Route.PRODUCTION)?.auc, 1, "production ranks the positives first");
  assert.equal(byRoute.get(Route.SHADOW)?.auc, 0, "the shadow ranks them last");
});

test("an entity-keyed label joins only the prediction nearest its event time, within the tolerance", () => {
  const m = monitor({ windowSize: 3, labelTimeToleranceMs: 5000, refreshIntervalMs: 0 });
  m.addPrediction(prediction({ requestId: "x1", entityId: "card-1", timeMs: 10_000, score: 0.9 }), version);
  m.addPrediction(prediction({ requestId: "x2", entityId: "card-1", timeMs: 20_000, score: 0.2 }), version);
  m.addPrediction(prediction({ requestId: "x3", entityId: "card-1", timeMs: 40_000, score: 0.4 }), version);
  m.takeReports();
  assert.equal(m.addLabel({ requestId: "", entityId: "card-1", eventTimeMs: 19_000, label: 1, labelTimeMs: 0 }), 1);
  assert.equal(m.addLabel({ requestId: "", entityId: "card-1", eventTimeMs: 30_000, label: 0, labelTimeMs: 0 }), 0, "10 s from both: beyond the tolerance");
  m.tick();
  const [e] = m.takeReports();
  assert.equal(Number(e?.report.performance?.labelled), 1);
  assert.equal(e?.report.performance?.recall, 0, "the prediction at 20 s (score 0.2) got the positive label");
});

test("labels for windows beyond the labelled-window retention, or past the join buffer, are not counted", () => {
  const m = monitor({ windowSize: 2, labelledWindows: 1, joinBufferSize: 3, refreshIntervalMs: 0 });
  for (let i = 0; i < 6; i++) m.addPrediction(prediction({ requestId: `q${i}`, score: 0.5 }), version);
  m.takeReports();
  assert.equal(m.addLabel({ requestId: "q0", entityId: "", eventTimeMs: 0, label: 1, labelTimeMs: 0 }), 0, "q0 left the join buffer");
  m.addLabel({ requestId: "q3", entityId: "", eventTimeMs: 0, label: 1, labelTimeMs: 0 }); // window 2: retired
  m.addLabel({ requestId: "q5", entityId: "", eventTimeMs: 0, label: 1, labelTimeMs: 0 }); // window 3: kept
  m.tick();
  const refreshed = m.takeReports();
  assert.deepEqual(refreshed.map((e) => [e.sequence, Number(e.report.performance?.labelled)]), [[3, 1]]);
});

test("a series without predictions for the idle TTL is forgotten", () => {
  const clock = manualClock();
  const m = monitor({ clock, windowSize: 2, idleTtlMs: 10_000 });
  m.addPrediction(prediction({ requestId: "q0" }), version);
  clock.advance(10_000);
  m.tick();
  assert.deepEqual(m.takeForgotten().map((k) => [k.model, k.version, k.segment]), [["fraud", "1", ""]]);
  assert.equal(m.stats.series, 0);
});
