import assert from "node:assert/strict";
import { test } from "node:test";
import { driftCommand, driftSql, filterText, parseDriftArgs, type DriftRequest } from "./drift-command.js";
import { columnsTable, driftWindows, numberText, performanceText, windowHeader, windowText, type DriftRow } from "./drift-format.js";
import { capture } from "./capture.test-helper.js";

test("the command line parses into a request", () => {
  const cases: [string[], DriftRequest][] = [
    [["fraud"], { model: "fraud", json: false }],
    [["fraud", "--json"], { model: "fraud", json: true }],
    [["fraud", "--version", "3", "--route", "canary"], { model: "fraud", version: "3", route: "canary", json: false }],
    [["fraud", "--segment=country=FR"], { model: "fraud", segment: "country=FR", json: false }],
    [["fraud", "--segment", ""], { model: "fraud", segment: "", json: false }],
    [["fraud", "--since", "1h"], { model: "fraud", sinceMs: 3_600_000, json: false }],
    [["fraud", "--since=90s", "--json"], { model: "fraud", sinceMs: 90_000, json: true }],
    [["fraud", "--since", "2d"], { model: "fraud", sinceMs: 172_800_000, json: false }],
  ];
  for (const [args, expected] of cases) assert.deepEqual(parseDriftArgs(args), expected, args.join(" "));
});

test("usage mistakes are one line with the usage and exit code 2, before ClickHouse is asked", async () => {
  const cases: [string[], string][] = [
    [[], "MODEL is required"],
    [["fraud", "other"], 'unexpected argument "other" (one MODEL at a time)'],
    [["fraud", "--colour", "red"], "unknown flag --colour"],
    [["fraud", "--route", "prod"], '--route: "prod" is not one of production, canary, shadow'],
    [["fraud", "--since", "an hour"], '--since: "an hour" is not a duration like 30m, 1h, 7d'],
    [["fraud", "--since", "0s"], '--since: "0s" is not a duration like 30m, 1h, 7d'],
    [["fraud", "--since"], "--since needs a value"],
    [["fraud", "--version"], "--version needs a value"],
    [["--json", "fraud"], '--json takes no value (got "fraud")'],
  ];
  for (const [args, message] of cases) {
    const io = capture({ LOOPLINE_CLICKHOUSE_URL: "http://127.0.0.1:1" });
    assert.equal(await driftCommand.run(args, io), 2, args.join(" "));
    assert.equal(io.stderr(), `loopline drift: ${message}\nusage: loopline drift ${driftCommand.usage}\n`);
    assert.equal(io.stdout(), "");
  }
});

test("the query escapes every value and reads the deduplicating view", () => {
  const hostile = "fr'aud\\'; DROP TABLE x; --";
  const q = driftSql("loopline", { model: hostile, version: "1'", route: "canary", segment: "country=O'Neil", json: false }, 0);
  assert.match(q, /FROM `loopline`\.drift_reports_dedup/);
  assert.ok(!q.includes("FROM `loopline`.drift_reports "), "never the raw table");
  assert.ok(q.includes("model = 'fr\\'aud\\\\\\'; DROP TABLE x; --'"), q);
  assert.ok(q.includes("model_version = '1\\''"));
  assert.ok(q.includes("segment = 'country=O\\'Neil'"));
  assert.match(q, /report_id IN \(SELECT argMax\(report_id, tuple\(window_end, time_ms\)\)/, "latest window per series");
  // 2026-12-06 10:00:00Z minus 1h, in unix seconds.
  const since = driftSql("db", { model: "m", sinceMs: 3_600_000, json: false }, Date.UTC(2026, 11, 6, 10));
  assert.ok(since.includes("window_end >= toDateTime(1796547600)"), since);
  assert.ok(!since.includes("argMax"), "--since keeps every window");
});

test("the no-report message names what the request was narrowed to", () => {
  const cases: [DriftRequest, string][] = [
    [{ model: "m", json: false }, ""],
    [{ model: "m", version: "2", route: "shadow", json: false }, " (version 2, route shadow)"],
    [{ model: "m", segment: "", sinceMs: 5_400_000, json: false }, " (all traffic, window ending in the last 90m)"],
    [{ model: "m", segment: "country=FR", json: false }, " (segment country=FR)"],
  ];
  for (const [request, text] of cases) assert.equal(filterText(request), text);
});

// 2026-12-06 10:00:00Z and 10:05:00Z in unix seconds.
const START = 1_796_551_200;
const END = 1_796_551_500;

function row(kind: string, column: string, values: Partial<DriftRow> = {}): DriftRow {
  return {
    report_id: "r1",
    time_ms: String(END * 1000 + 10),
    model_version: "2",
    route: "production",
    segment: "",
    window_start: START,
    window_end: END,
    kind,
    column,
    method: "ks",
    statistic: 0.1,
    p_value: 0.5,
    threshold: 0.05,
    drifted: 0,
    n_reference: "1000",
    n_current: "400",
    missing_share_reference: 0,
    missing_share_current: 0,
    ...values,
  };
}

const REPORT: DriftRow[] = [
  row("feature", "tx:hour", { statistic: 0.04, p_value: 0.71 }),
  row("feature", "tx:amount", { statistic: 0.3125, p_value: 0.00012345, drifted: "1", missing_share_current: 0.125, missing_share_reference: 0.01 }),
  row("feature", "tx:country", { method: "", statistic: 0, p_value: null, threshold: 0 }),
  row("feature", "tx:merchant", { method: "jensenshannon", statistic: 0.2, p_value: null, threshold: 0.1, drifted: 1 }),
  row("feature", "tx:channel", { method: "z", statistic: 1.2, p_value: 0.23 }),
  row("prediction", "score", { statistic: 0.08, p_value: 0.2 }),
  row("dataset", "drifted_share", { method: "share_of_drifted_columns", statistic: 0.5, p_value: null, threshold: 0.4, drifted: 1, n_reference: "0", n_current: "500" }),
  row("performance", "auc", { method: "", statistic: 0.9134, p_value: null, threshold: 0.5, n_reference: "0", n_current: "80" }),
  row("performance", "accuracy", { method: "", statistic: 0.95, p_value: null, threshold: 0.5, n_reference: "0", n_current: "80" }),
  row("performance", "positives", { method: "", statistic: 8, p_value: null, threshold: 0.5, n_reference: "0", n_current: "80" }),
];

test("rows fold into one window per report, counting only tested features", () => {
  const [w, ...rest] = driftWindows(REPORT);
  assert.equal(rest.length, 0);
  assert.ok(w);
  assert.deepEqual(
    { version: w.modelVersion, start: w.windowStartMs, end: w.windowEndMs, nCurrent: w.nCurrent, nReference: w.nReference, tested: w.testedCount, drifted: w.driftedCount, share: w.driftedShare, dataset: w.datasetDrift, datasetThreshold: w.datasetThreshold },
    { version: "2", start: START * 1000, end: END * 1000, nCurrent: 500, nReference: 1000, tested: 4, drifted: 2, share: 0.5, dataset: true, datasetThreshold: 0.4 },
  );
  assert.deepEqual(w.features.map((f) => f.column), ["tx:amount", "tx:merchant", "tx:channel", "tx:hour", "tx:country"]);
  assert.deepEqual(w.features[4], { column: "tx:country", method: "", statistic: null, pValue: null, threshold: null, drifted: false, nReference: 1000, nCurrent: 400, missingShareReference: 0, missingShareCurrent: 0 });
  assert.equal(w.prediction?.column, "score");
  assert.deepEqual(w.performance, { labelled: 80, positives: 8, auc: 0.9134, accuracy: 0.95, precision: null, recall: null, logLoss: null, calibrationError: null, threshold: 0.5 });
});

test("a row stored twice counts once, the later report time winning", () => {
  const [w] = driftWindows([
    row("feature", "tx:amount", { drifted: 0, time_ms: "1000" }),
    row("feature", "tx:amount", { drifted: 1, time_ms: "2000" }),
    row("feature", "tx:amount", { drifted: 0, time_ms: "1500" }),
  ]);
  assert.equal(w?.features.length, 1);
  assert.equal(w?.driftedCount, 1);
  assert.equal(w?.timeMs, 2000);
});

test("windows are ordered by version (numerically), route, segment and window end", () => {
  const key = (id: string, version: string, route: string, segment: string, end: number) =>
    row("feature", "x", { report_id: id, model_version: version, route, segment, window_end: end });
  const windows = driftWindows([
    key("e", "10", "production", "", 5),
    key("d", "2", "shadow", "", 5),
    key("c", "2", "canary", "", 5),
    key("b", "2", "production", "country=FR", 5),
    key("a2", "2", "production", "", 9),
    key("a1", "2", "production", "", 5),
  ]);
  assert.deepEqual(windows.map((w) => w.reportId), ["a1", "a2", "b", "c", "d", "e"]);
});

test("the header, the table and the performance line of a window", () => {
  const [w] = driftWindows(REPORT);
  assert.ok(w);
  assert.equal(
    windowHeader("fraud", w),
    "fraud version 2, production, all traffic: window 2026-12-06 10:00:00Z – 10:05:00Z, n_reference 1000 / n_current 500, 2 of 4 features drifted (50%, dataset threshold 40%): dataset drift",
  );
  assert.equal(
    columnsTable(w),
    [
      "KIND        COLUMN       METHOD         STATISTIC  P-VALUE    THRESHOLD  DRIFTED     MISSING (REF)",
      "feature     tx:amount    ks             0.3125     0.0001234  0.05       yes         0.125 (ref 0.01)",
      "feature     tx:merchant  jensenshannon  0.2        -          0.1        yes         0 (ref 0)",
      "prediction  score        ks             0.08       0.2        0.05       no          0 (ref 0)",
      "feature     tx:channel   z              1.2        0.23       0.05       no          0 (ref 0)",
      "feature     tx:hour      ks             0.04       0.71       0.05       no          0 (ref 0)",
      "feature     tx:country   -              -          -          -          not tested  0 (ref 0)",
    ].join("\n"),
  );
  assert.equal(performanceText(w.performance), "performance (80 labelled, 8 positive, threshold 0.5): auc 0.9134, accuracy 0.95");
  assert.equal(performanceText(null), "performance: no labelled predictions yet");
});

test("numbers and windows read compactly", () => {
  const numbers: [number | null, string][] = [
    [null, "-"],
    [0, "0"],
    [0.123456, "0.1235"],
    [1.5e-12, "1.5e-12"],
    [12345.6, "12350"],
  ];
  for (const [x, text] of numbers) assert.equal(numberText(x), text, String(x));
  assert.equal(windowText(START * 1000, END * 1000), "2026-12-06 10:00:00Z – 10:05:00Z");
  assert.equal(windowText(START * 1000, (START + 86_400) * 1000), "2026-12-06 10:00:00Z – 2026-12-07 10:00:00Z");
});
