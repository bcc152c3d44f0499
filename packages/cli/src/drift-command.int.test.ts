import assert from "node:assert/strict";
import { test } from "node:test";
import { insertRows } from "@loopline/kit";
import { freePort, isolateStack } from "@loopline/testkit";
import { driftCommand } from "./drift-command.js";
import { capture } from "./capture.test-helper.js";

/** A drift_reports row's kind, column, method, statistic, p-value, threshold, drifted and reference size. */
type Column = [kind: string, column: string, method: string, statistic: number, pValue: number | "nan", threshold: number | "nan", drifted: 0 | 1, nReference?: number];

/** Drift report rows as clickhouse-sink writes them (JSONEachRow forms: DateTime as unix seconds, NaN as "nan"). */
function reportRows(report: { id: string; model?: string; version: string; route: string; segment?: string; start: number; end: number; nCurrent: number }, columns: Column[]) {
  return columns.map(([kind, column, method, statistic, pValue, threshold, drifted, nReference]) => ({
    report_id: report.id,
    time: report.end + 1,
    time_ms: String((report.end + 1) * 1000),
    model: report.model ?? "fraud",
    model_version: report.version,
    route: report.route,
    segment: report.segment ?? "",
    window_start: report.start,
    window_end: report.end,
    kind,
    column,
    method,
    statistic,
    p_value: pValue,
    threshold,
    drifted,
    n_reference: String(nReference ?? (kind === "feature" || kind === "prediction" ? 1000 : 0)),
    n_current: String(kind === "performance" ? 80 : report.nCurrent),
    missing_share_reference: 0,
    missing_share_current: column === "card_txn:country" ? 0.25 : 0,
    ingested_at: report.end + 2,
  }));
}

const clock = (unixSeconds: number) => `${new Date(unixSeconds * 1000).toISOString().slice(0, 19).replace("T", " ")}Z`;
/** A window as the header shows it: the end's date left out when it is the start's. */
const span = (w: { start: number; end: number }) => `${clock(w.start)} – ${clock(w.end).slice(0, 10) === clock(w.start).slice(0, 10) ? clock(w.end).slice(11) : clock(w.end)}`;

test("loopline drift reads the drift reports clickhouse-sink stored", async (t) => {
  const s = await isolateStack(t, { migrate: true });
  const now = Math.floor(Date.now() / 1000);
  // Version 1 in production: an old window two hours ago (amount drifted) and the latest ten minutes
  // ago (amount and country drifted, hour not; the score drifted too; labelled). Its country=FR
  // segment: one window, country untested there (the segment key). Version 2 in canary: one window,
  // nothing drifted, no labels, no score reference. A row of another model must never show.
  const old = { id: "v1-prod-old", version: "1", route: "production", start: now - 7500, end: now - 7200, nCurrent: 300 };
  const latest = { id: "v1-prod-new", version: "1", route: "production", start: now - 900, end: now - 600, nCurrent: 500 };
  const fr = { id: "v1-prod-fr", version: "1", route: "production", segment: "country=FR", start: now - 900, end: now - 600, nCurrent: 120 };
  const canary = { id: "v2-canary", version: "2", route: "canary", start: now - 400, end: now - 300, nCurrent: 200 };
  const other = { id: "other", model: "fraud_v2", version: "1", route: "production", start: now - 400, end: now - 300, nCurrent: 100 };
  const latestDrift: Column[] = [
    ["feature", "card_txn:hour", "ks", 0.03, 0.62, 0.05, 0],
    ["feature", "card_txn:amount", "ks", 0.31, 0.002, 0.05, 1],
    ["feature", "card_txn:country", "chisquare", 18.5, 0.0003, 0.05, 1],
    ["prediction", "score", "ks", 0.12, 0.04, 0.05, 1],
    ["dataset", "drifted_share", "share_of_drifted_columns", 2 / 3, "nan", 0.5, 1],
  ];
  const performance = (auc: number, accuracy: number, positives: number): Column[] => [
    ["performance", "auc", "", auc, "nan", 0.5, 0],
    ["performance", "accuracy", "", accuracy, "nan", 0.5, 0],
    ["performance", "positives", "", positives, "nan", 0.5, 0],
  ];
  await insertRows(s.clickhouse, "drift_reports", [
    ...reportRows(old, [
      ["feature", "card_txn:amount", "ks", 0.4, 0.001, 0.05, 1],
      ["feature", "card_txn:hour", "ks", 0.02, 0.8, 0.05, 0],
      ["dataset", "drifted_share", "share_of_drifted_columns", 0.5, "nan", 0.5, 1],
    ]),
    ...reportRows(latest, [...latestDrift, ...performance(0.71, 0.9, 9)]),
    ...reportRows(fr, [
      ["feature", "card_txn:amount", "wasserstein", 0.35, "nan", 0.1, 1],
      ["feature", "card_txn:country", "", 0, "nan", 0, 0],
      ["dataset", "drifted_share", "share_of_drifted_columns", 1, "nan", 0.5, 1],
    ]),
    ...reportRows(canary, [
      ["feature", "card_txn:amount", "ks", 0.05, 0.4, 0.05, 0],
      ["feature", "card_txn:hour", "ks", 0.04, 0.5, 0.05, 0],
      ["prediction", "score", "", 0, "nan", 0, 0, 0],
      ["dataset", "drifted_share", "share_of_drifted_columns", 0, "nan", 0.5, 0],
    ]),
    ...reportRows(other, [["feature", "card_txn:amount", "ks", 0.9, 0.0001, 0.05, 1]]),
  ]);
  const env = { LOOPLINE_CLICKHOUSE_URL: s.endpoints.clickhouseUrl, LOOPLINE_CLICKHOUSE_DATABASE: s.database };
  const run = async (args: string[], environment: Record<string, string> = env) => {
    const io = capture(environment);
    const code = await driftCommand.run(args, io);
    return { code, out: io.stdout(), err: io.stderr() };
  };

  await t.test("by default: the latest window of each version, route and segment, drifted columns first", async () => {
    const r = await run(["fraud"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "");
    const blocks = r.out.trimEnd().split("\n\n");
    // Not the older production window, nor the other model's.
    assert.equal(blocks.length, 3, r.out);
    const [production, segment, canaryBlock] = blocks.map((b) => b.split("\n"));
    assert.equal(
      production?.[0],
      `fraud version 1, production, all traffic: window ${span(latest)}, n_reference 1000 / n_current 500, 2 of 3 features drifted (66.7%, dataset threshold 50%): dataset drift`,
    );
    assert.match(production?.[1] ?? "", /^KIND +COLUMN +METHOD +STATISTIC +P-VALUE +THRESHOLD +DRIFTED +MISSING \(REF\)$/);
    assert.deepEqual(production?.slice(2, 6).map((l) => l.split(/\s+/).slice(0, 7)), [
      ["prediction", "score", "ks", "0.12", "0.04", "0.05", "yes"],
      ["feature", "card_txn:amount", "ks", "0.31", "0.002", "0.05", "yes"],
      ["feature", "card_txn:country", "chisquare", "18.5", "0.0003", "0.05", "yes"],
      ["feature", "card_txn:hour", "ks", "0.03", "0.62", "0.05", "no"],
    ]);
    assert.match(production?.[4] ?? "", / 0\.25 \(ref 0\)$/, "missing share of country");
    assert.equal(production?.[6], "performance (80 labelled, 9 positive, threshold 0.5): auc 0.71, accuracy 0.9");
    assert.equal(segment?.[0]?.startsWith("fraud version 1, production, segment country=FR: "), true, segment?.[0]);
    assert.match(segment?.[0] ?? "", /n_current 120, 1 of 1 features drifted \(100%, dataset threshold 50%\): dataset drift$/);
    assert.deepEqual(segment?.slice(2, 4).map((l) => l.split(/\s+/).slice(0, 7)), [
      ["feature", "card_txn:amount", "wasserstein", "0.35", "-", "0.1", "yes"],
      ["feature", "card_txn:country", "-", "-", "-", "-", "not"],
    ]);
    assert.match(canaryBlock?.[0] ?? "", /^fraud version 2, canary, all traffic: .* n_current 200, 0 of 2 features drifted \(0%, dataset threshold 50%\)$/);
    assert.equal(canaryBlock?.at(-1), "performance: no labelled predictions yet");
  });

  await t.test("--version, --route and --segment narrow the series", async () => {
    const headers = async (args: string[]) => (await run(["fraud", ...args])).out.split("\n").filter((l) => l.startsWith("fraud version"));
    assert.deepEqual((await headers(["--version", "2"])).map((h) => h.split(":")[0]), ["fraud version 2, canary, all traffic"]);
    assert.deepEqual((await headers(["--route", "production"])).map((h) => h.split(":")[0]), ["fraud version 1, production, all traffic", "fraud version 1, production, segment country=FR"]);
    assert.deepEqual((await headers(["--segment", "country=FR"])).map((h) => h.split(":")[0]), ["fraud version 1, production, segment country=FR"]);
    assert.deepEqual((await headers(["--segment", "", "--version", "1"])).map((h) => h.split(":")[0]), ["fraud version 1, production, all traffic"]);
  });

  await t.test("--since shows every window that ended within the duration", async () => {
    const windows = async (since: string) => (await run(["fraud", "--version", "1", "--segment=", "--since", since])).out.split("\n").filter((l) => l.startsWith("fraud version")).map((h) => h.slice(h.indexOf("window ") + 7, h.indexOf(",", h.indexOf("window "))));
    assert.deepEqual(await windows("3h"), [span(old), span(latest)]);
    assert.deepEqual(await windows("1h"), [span(latest)]);
    // The newest window (canary) ended 5 minutes ago.
    const none = await run(["fraud", "--since", "4m"]);
    assert.equal(none.code, 0);
    assert.equal(none.out, `no drift reports for model "fraud" (window ending in the last 4m) in ClickHouse database ${s.database}\n`);
  });

  await t.test("--json prints one object with DriftReport's field names", async () => {
    const r = await run(["fraud", "--route", "production", "--segment", "", "--json"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trimEnd().split("\n").length, 1);
    const doc = JSON.parse(r.out) as Record<string, unknown> & { windows: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(doc), ["database", "model", "filters", "windows"]);
    assert.equal(doc["database"], s.database);
    assert.deepEqual(doc["filters"], { version: null, route: "production", segment: "", sinceMs: null });
    assert.equal(doc.windows.length, 1);
    const w = doc.windows[0] as Record<string, unknown> & { features: Record<string, unknown>[] };
    assert.deepEqual(
      { ...w, features: w.features.map((f) => [f["column"], f["drifted"]]) },
      {
        reportId: "v1-prod-new",
        timeMs: (latest.end + 1) * 1000,
        modelVersion: "1",
        route: "production",
        segment: "",
        windowStartMs: latest.start * 1000,
        windowEndMs: latest.end * 1000,
        nCurrent: 500,
        nReference: 1000,
        features: [["card_txn:amount", true], ["card_txn:country", true], ["card_txn:hour", false]],
        prediction: { column: "score", method: "ks", statistic: 0.12, pValue: 0.04, threshold: 0.05, drifted: true, nReference: 1000, nCurrent: 500, missingShareReference: 0, missingShareCurrent: 0 },
        testedCount: 3,
        driftedCount: 2,
        driftedShare: 2 / 3,
        datasetDrift: true,
        datasetThreshold: 0.5,
        performance: { labelled: 80, positives: 9, auc: 0.71, accuracy: 0.9, precision: null, recall: null, logLoss: null, calibrationError: null, threshold: 0.5 },
      },
    );
    assert.deepEqual(w.features[1], { column: "card_txn:country", method: "chisquare", statistic: 18.5, pValue: 0.0003, threshold: 0.05, drifted: true, nReference: 1000, nCurrent: 500, missingShareReference: 0, missingShareCurrent: 0.25 });
    const empty = await run(["nobody", "--json"]);
    assert.deepEqual(JSON.parse(empty.out), { database: s.database, model: "nobody", filters: { version: null, route: null, segment: null, sinceMs: null }, windows: [] });
  });

  await t.test("a model without reports is one line naming the database, exit 0", async () => {
    const r = await run(["nobody"]);
    assert.equal(r.code, 0);
    assert.equal(r.out, `no drift reports for model "nobody" in ClickHouse database ${s.database}\n`);
    const narrowed = await run(["fraud", "--version", "7", "--route", "shadow"]);
    assert.equal(narrowed.out, `no drift reports for model "fraud" (version 7, route shadow) in ClickHouse database ${s.database}\n`);
  });

  await t.test("a refreshed report (same report_id, later labels) replaces the one before", async () => {
    const refreshed = reportRows(latest, [...latestDrift, ...performance(0.64, 0.85, 12)]).map((r) => ({ ...r, time: latest.end + 60, time_ms: String((latest.end + 60) * 1000), n_current: r.kind === "performance" ? "140" : r.n_current }));
    await insertRows(s.clickhouse, "drift_reports", refreshed);
    const r = await run(["fraud", "--version", "1", "--segment", ""]);
    assert.equal(r.out.split("\n").filter((l) => l.startsWith("fraud version")).length, 1, r.out);
    assert.match(r.out, /^performance \(140 labelled, 12 positive, threshold 0\.5\): auc 0\.64, accuracy 0\.85$/m);
  });

  await t.test("a database without the migrations is one line, exit 1", async () => {
    const r = await run(["fraud"], { ...env, LOOPLINE_CLICKHOUSE_DATABASE: `${s.database}_missing` });
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.match(r.err, new RegExp(`^loopline drift: ClickHouse at ${s.endpoints.clickhouseUrl} has no ${s.database}_missing\\.drift_reports_dedup \\(LOOPLINE_CLICKHOUSE_DATABASE; run loopline migrate\\): [^\\n]*\\n$`));
  });
});

test("an unreachable ClickHouse is one line naming the URL and LOOPLINE_CLICKHOUSE_URL, exit 1", async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const io = capture({ LOOPLINE_CLICKHOUSE_URL: url });
  assert.equal(await driftCommand.run(["fraud"], io), 1);
  assert.equal(io.stdout(), "");
  assert.match(io.stderr(), new RegExp(`^loopline drift: ClickHouse is unreachable at ${url} \\(LOOPLINE_CLICKHOUSE_URL\\): [^\\n]*ECONNREFUSED[^\\n]*\\n$`));
});
