// Drift reports as clickhouse-sink stores them (one row per column, kind feature, prediction, dataset
// or performance; see services/clickhouse-sink/src/records.ts), folded back into one window each and
// rendered for `loopline drift`.
import { table } from "./commands.js";
import { timeText } from "./models-format.js";

/** One row of drift_reports_dedup as the drift command selects it (JSONEachRow: UInt64 as text, NaN as null). */
export interface DriftRow {
  report_id: string;
  time_ms: string | number;
  model_version: string;
  route: string;
  segment: string;
  /** Unix seconds. */
  window_start: string | number;
  /** Unix seconds. */
  window_end: string | number;
  kind: string;
  column: string;
  method: string;
  statistic: number | null;
  p_value: number | null;
  threshold: number | null;
  drifted: string | number;
  n_reference: string | number;
  n_current: string | number;
  missing_share_reference: number | null;
  missing_share_current: number | null;
}

/** Drift of one column (a feature, or the score for prediction drift); the names are DriftReport's ColumnDrift's. */
export interface ColumnDriftView {
  column: string;
  /** Evidently's stattest name (ks, chisquare, z, wasserstein, jensenshannon, …); "" when the column was not tested. */
  method: string;
  /** The method's statistic; null when the column was not tested. */
  statistic: number | null;
  /** Null for distance methods and untested columns. */
  pValue: number | null;
  /** Null when the column was not tested. */
  threshold: number | null;
  drifted: boolean;
  nReference: number;
  nCurrent: number;
  missingShareReference: number;
  missingShareCurrent: number;
}

/** Labelled performance of a window; a metric is null until computable (auc needs both classes). */
export interface PerformanceView {
  labelled: number;
  positives: number | null;
  auc: number | null;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  logLoss: number | null;
  calibrationError: number | null;
  /** The version's decision threshold. */
  threshold: number | null;
}

/** One report window, in the field names of loopline.v1.DriftReport (`--json` prints these). */
export interface DriftWindowView {
  reportId: string;
  /** When the report (or its latest performance refresh) was made, epoch ms. */
  timeMs: number;
  modelVersion: string;
  route: string;
  /** "" is all traffic. */
  segment: string;
  windowStartMs: number;
  windowEndMs: number;
  /** Predictions in the window. */
  nCurrent: number;
  /** Largest reference size among the columns (the profile's rows without missing values). */
  nReference: number;
  /** Features, drifted first (then tested before untested, then by name). */
  features: ColumnDriftView[];
  /** Drift of the score; null when the report has none. */
  prediction: ColumnDriftView | null;
  /** Tested features (those with a method): the denominator of driftedShare, as drift-monitor counts it. */
  testedCount: number;
  driftedCount: number;
  driftedShare: number;
  /** drift-monitor's dataset verdict; null when the report has no dataset row. */
  datasetDrift: boolean | null;
  /** The drifted share at which the dataset drifts (LOOPLINE_DRIFT_SHARE); null without a dataset row. */
  datasetThreshold: number | null;
  performance: PerformanceView | null;
}

const ROUTE_ORDER = ["production", "canary", "shadow"];
const PERFORMANCE_FIELDS: Record<string, keyof Omit<PerformanceView, "labelled" | "threshold">> = {
  positives: "positives",
  auc: "auc",
  accuracy: "accuracy",
  precision: "precision",
  recall: "recall",
  log_loss: "logLoss",
  calibration_error: "calibrationError",
};

const num = (v: string | number | null): number => (v === null ? Number.NaN : Number(v));
const finiteOrNull = (v: number | null): number | null => (v === null || !Number.isFinite(v) ? null : v);

function columnView(r: DriftRow): ColumnDriftView {
  const tested = r.method !== "";
  return {
    column: r.column,
    method: r.method,
    statistic: tested ? finiteOrNull(r.statistic) : null,
    pValue: tested ? finiteOrNull(r.p_value) : null,
    threshold: tested ? finiteOrNull(r.threshold) : null,
    drifted: num(r.drifted) === 1,
    nReference: num(r.n_reference),
    nCurrent: num(r.n_current),
    missingShareReference: finiteOrNull(r.missing_share_reference) ?? 0,
    missingShareCurrent: finiteOrNull(r.missing_share_current) ?? 0,
  };
}

/** Drifted first, then tested before untested, then (unless told not to) by name. */
function byConcern(a: ColumnDriftView, b: ColumnDriftView, byName = true): number {
  return Number(b.drifted) - Number(a.drifted) || Number(b.method !== "") - Number(a.method !== "") || (byName ? a.column.localeCompare(b.column) : 0);
}

function windowOrder(a: DriftWindowView, b: DriftWindowView): number {
  const route = (r: string) => (ROUTE_ORDER.includes(r) ? ROUTE_ORDER.indexOf(r) : ROUTE_ORDER.length);
  return (
    a.modelVersion.localeCompare(b.modelVersion, "en", { numeric: true }) ||
    route(a.route) - route(b.route) ||
    a.route.localeCompare(b.route) ||
    a.segment.localeCompare(b.segment) ||
    a.windowEndMs - b.windowEndMs ||
    a.reportId.localeCompare(b.reportId)
  );
}

/**
 * Folds rows into one view per report_id, ordered by version (numerically), route (production,
 * canary, shadow), segment and window end. Should a row of a report be stored twice (a refresh the
 * view did not collapse), the one with the greater time_ms wins.
 */
export function driftWindows(rows: readonly DriftRow[]): DriftWindowView[] {
  const reports = new Map<string, Map<string, DriftRow>>();
  for (const r of rows) {
    let cells = reports.get(r.report_id);
    if (cells === undefined) reports.set(r.report_id, (cells = new Map()));
    const key = `${r.kind}\u0000${r.column}`;
    const seen = cells.get(key);
    if (seen === undefined || num(r.time_ms) > num(seen.time_ms)) cells.set(key, r);
  }
  const windows: DriftWindowView[] = [];
  for (const [reportId, cells] of reports) {
    const all = [...cells.values()];
    const first = all[0] as DriftRow;
    const features = all.filter((r) => r.kind === "feature").map(columnView).sort(byConcern);
    const predictionRow = all.find((r) => r.kind === "prediction");
    const dataset = all.find((r) => r.kind === "dataset");
    const performanceRows = all.filter((r) => r.kind === "performance");
    const tested = features.filter((f) => f.method !== "");
    const driftedCount = tested.filter((f) => f.drifted).length;
    const prediction = predictionRow === undefined ? null : columnView(predictionRow);
    let performance: PerformanceView | null = null;
    if (performanceRows.length > 0) {
      performance = { labelled: 0, positives: null, auc: null, accuracy: null, precision: null, recall: null, logLoss: null, calibrationError: null, threshold: null };
      for (const r of performanceRows) {
        performance.labelled = num(r.n_current);
        performance.threshold = finiteOrNull(r.threshold);
        const field = PERFORMANCE_FIELDS[r.column];
        if (field !== undefined) performance[field] = finiteOrNull(r.statistic);
      }
    }
    const sizes = [...features, ...(prediction === null ? [] : [prediction])];
    windows.push({
      reportId,
      timeMs: Math.max(...all.map((r) => num(r.time_ms))),
      modelVersion: first.model_version,
      route: first.route,
      segment: first.segment,
      windowStartMs: num(first.window_start) * 1000,
      windowEndMs: num(first.window_end) * 1000,
      nCurrent: dataset !== undefined ? num(dataset.n_current) : Math.max(0, ...sizes.map((c) => c.nCurrent)),
      nReference: Math.max(0, ...sizes.map((c) => c.nReference)),
      features,
      prediction,
      testedCount: tested.length,
      driftedCount,
      driftedShare: tested.length === 0 ? 0 : driftedCount / tested.length,
      datasetDrift: dataset === undefined ? null : num(dataset.drifted) === 1,
      datasetThreshold: dataset === undefined ? null : finiteOrNull(dataset.threshold),
      performance,
    });
  }
  return windows.sort(windowOrder);
}

/** A number in at most 4 significant digits; "-" for null. */
export function numberText(x: number | null): string {
  return x === null ? "-" : String(Number(x.toPrecision(4)));
}

const percent = (share: number) => `${String(Number((share * 100).toPrecision(3)))}%`;

/** "all traffic" for the segment "". */
export function segmentText(segment: string): string {
  return segment === "" ? "all traffic" : `segment ${segment}`;
}

/** "2026-12-06 10:00:00Z – 10:05:00Z" (the end's date is left out when it is the start's). */
export function windowText(startMs: number, endMs: number): string {
  const start = timeText(BigInt(startMs));
  const end = timeText(BigInt(endMs));
  return `${start} – ${end.slice(0, 10) === start.slice(0, 10) ? end.slice(11) : end}`;
}

/** The header line of a window. */
export function windowHeader(model: string, w: DriftWindowView): string {
  const verdict = w.datasetDrift === true ? ": dataset drift" : "";
  const counts = w.testedCount === 0 ? "no feature tested" : `${w.driftedCount} of ${w.testedCount} features drifted (${percent(w.driftedShare)}${w.datasetThreshold === null ? "" : `, dataset threshold ${percent(w.datasetThreshold)}`})${verdict}`;
  return `${model} version ${w.modelVersion}, ${w.route}, ${segmentText(w.segment)}: window ${windowText(w.windowStartMs, w.windowEndMs)}, n_reference ${w.nReference} / n_current ${w.nCurrent}, ${counts}`;
}

function columnRow(kind: string, c: ColumnDriftView): string[] {
  const tested = c.method !== "";
  const missing = `${numberText(c.missingShareCurrent)} (ref ${numberText(c.missingShareReference)})`;
  return [kind, c.column, tested ? c.method : "-", numberText(c.statistic), numberText(c.pValue), numberText(c.threshold), tested ? (c.drifted ? "yes" : "no") : "not tested", missing];
}

/** The column table of a window, labelled by kind: drifted first, then tested before untested, the score before features, then by name. */
export function columnsTable(w: DriftWindowView): string {
  const labelled = [...(w.prediction === null ? [] : [{ kind: "prediction", c: w.prediction }]), ...w.features.map((c) => ({ kind: "feature", c }))];
  // A stable sort keeps the score ahead of features that rank the same.
  const rows = labelled.sort((a, b) => byConcern(a.c, b.c, false)).map(({ kind, c }) => columnRow(kind, c));
  return table(["KIND", "COLUMN", "METHOD", "STATISTIC", "P-VALUE", "THRESHOLD", "DRIFTED", "MISSING (REF)"], rows);
}

/** The performance line of a window: labelled metrics at the version's threshold, or that no label has arrived. */
export function performanceText(p: PerformanceView | null): string {
  if (p === null) return "performance: no labelled predictions yet";
  const metrics = (["auc", "accuracy", "precision", "recall", "logLoss", "calibrationError"] as const)
    .filter((k) => p[k] !== null)
    .map((k) => `${k === "logLoss" ? "log_loss" : k === "calibrationError" ? "calibration_error" : k} ${numberText(p[k])}`);
  const positives = p.positives === null ? "" : `, ${p.positives} positive`;
  return `performance (${p.labelled} labelled${positives}, threshold ${numberText(p.threshold)}): ${metrics.join(", ")}`;
}

/** The human output of `loopline drift`: per window a header, its column table and its performance line. */
export function driftText(model: string, windows: readonly DriftWindowView[]): string {
  return windows.map((w) => [windowHeader(model, w), columnsTable(w), performanceText(w.performance)].join("\n")).join("\n\n");
}
