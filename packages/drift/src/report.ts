// Drift report of a current window against a reference profile: per column Evidently's default method (or
// an override), its score and decision, the missing-value shares, and the dataset-level drift share.
import { HISTOGRAM_MIN_UNIQUE, histogramUnsorted, sharesFromCounts, sturgesEdges, valueCounts } from "./binning.js";
import { chiSquareFromCounts } from "./chi-square.js";
import type { CategoricalWindowColumn, CurrentWindow, NumericalWindowColumn } from "./current-window.js";
import { jensenShannonFromShares, klFromShares, psiFromShares } from "./divergence.js";
import { DriftError } from "./errors.js";
import { hellingerFromCounts, hellingerSorted } from "./hellinger.js";
import { ksPValue } from "./ks.js";
import { DEFAULT_DRIFT_SHARE, DRIFT_METHODS, datasetDrift, defaultMethod, isDrifted, type DriftMethod } from "./methods.js";
import type { CategoricalColumnProfile, NumericalColumnProfile, ReferenceProfile } from "./profile.js";
import { scanAgainstReference } from "./reference-scan.js";
import { searchSorted } from "./sorted.js";
import { WASSERSTEIN_MIN_NORM } from "./wasserstein.js";
import { wassersteinAgainstReference } from "./wasserstein-scan.js";
import { zTestFromCounts } from "./z-test.js";

/** Per-column (or per-kind) choice of method and threshold; unset fields fall back to Evidently's defaults. */
export interface ColumnDriftOptions {
  /** Method to use instead of Evidently's default choice. */
  readonly method?: DriftMethod;
  /** Threshold to use instead of the method's default. */
  readonly threshold?: number;
}

/** Options of computeDriftReport. */
export interface DriftReportOptions {
  /** Overrides for individual columns, by name. */
  readonly columns?: Readonly<Record<string, ColumnDriftOptions>>;
  /** Overrides for every numerical column (Evidently's num_stattest). */
  readonly numerical?: ColumnDriftOptions;
  /** Overrides for every categorical column (Evidently's cat_stattest). */
  readonly categorical?: ColumnDriftOptions;
  /** Share of drifted columns at which the dataset drifts. Default 0.5. */
  readonly driftShare?: number;
}

/** Why a column could not be tested. */
export type ColumnSkipReason = "empty-reference" | "empty-current";

/** Drift of one column. */
export interface ColumnDriftResult {
  readonly column: string;
  readonly kind: "numerical" | "categorical";
  /** "tested", or why the test could not run (Evidently raises on these; Loopline reports them). */
  readonly status: "tested" | ColumnSkipReason;
  /** Method used; null when not tested. */
  readonly method: DriftMethod | null;
  /** Evidently's drift_score: the p-value for tests, the distance otherwise; null when not tested. */
  readonly score: number | null;
  /** Test statistic (KS D, chi-square, z) or the distance itself; null when not tested. */
  readonly statistic: number | null;
  /** p-value for ks, chisquare and z. */
  readonly pValue?: number;
  /** KS only: whether the p-value is exact or asymptotic (scipy's "auto" choice). */
  readonly pValueMode?: "exact" | "asymp";
  /** Threshold the score was compared with; null when not tested. */
  readonly threshold: number | null;
  /** Evidently's drift decision; false when not tested. */
  readonly drifted: boolean;
  /** Non-missing values compared, reference and current. */
  readonly referenceSize: number;
  readonly currentSize: number;
  /** Share of reference / current rows dropped as missing (null, NaN, ±Infinity, wrong type). */
  readonly nanShareRef: number;
  readonly nanShareCur: number;
  /** nanShareCur - nanShareRef. */
  readonly nanShareDelta: number;
  /** Observations a user should see: "constant-reference", "constant-current", "new-categories". */
  readonly notes: readonly string[];
}

/** Dataset-level summary over the tested columns. */
export interface DatasetDriftSummary {
  /** Columns tested (skipped columns are not counted). */
  readonly columns: number;
  readonly driftedColumns: number;
  /** driftedColumns / columns (0 when nothing was tested). */
  readonly share: number;
  /** Threshold on share. */
  readonly driftShare: number;
  /** share >= driftShare. */
  readonly datasetDrift: boolean;
}

/** A drift report: one entry per profile column, in profile order, and the dataset summary. */
export interface DriftReport {
  readonly columns: readonly ColumnDriftResult[];
  readonly dataset: DatasetDriftSummary;
}

interface Decision {
  readonly method: DriftMethod;
  readonly score: number;
  readonly statistic: number;
  readonly pValue?: number;
  readonly pValueMode?: "exact" | "asymp";
}

function share(missing: number, rows: number): number {
  return rows === 0 ? 0 : missing / rows;
}

/** Distinct values of the union, counted only up to `limit + 1` (the selection rules look no further). */
function uniqueUpTo(ref: NumericalColumnProfile, cur: Float64Array, size: number, limit: number): number {
  if (ref.values.length > limit) return ref.values.length;
  const seen = new Set<number>(ref.values);
  for (let i = 0; i < size && seen.size <= limit; i++) seen.add(cur[i]!);
  return seen.size;
}

function refCountMap(ref: NumericalColumnProfile): Map<number, number> {
  const m = new Map<number, number>();
  for (let k = 0; k < ref.values.length; k++) m.set(ref.values[k]!, ref.counts[k]!);
  return m;
}

function numericalShares(ref: NumericalColumnProfile, cur: Float64Array): { reference: Float64Array; current: Float64Array } {
  if (ref.values.length > HISTOGRAM_MIN_UNIQUE) {
    let min = ref.values[0]!;
    let max = ref.values[ref.values.length - 1]!;
    for (const v of cur) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const edges = sturgesEdges(min, max, ref.size + cur.length);
    const bins = edges.length - 1;
    const cumBelow = (x: number, side: "left" | "right"): number => {
      const k = searchSorted(ref.values, x, side);
      let c = 0;
      // Prefix of counts; bins are few, so recomputing from the distinct-value index is cheap enough.
      for (let j = 0; j < k; j++) c += ref.counts[j]!;
      return c;
    };
    const r = new Float64Array(bins);
    let prev = cumBelow(edges[0]!, "left");
    for (let i = 1; i <= bins; i++) {
      const next = cumBelow(edges[i]!, i === bins ? "right" : "left");
      r[i - 1] = (next - prev) / ref.size;
      prev = next;
    }
    const c = histogramUnsorted(cur, edges);
    for (let i = 0; i < bins; i++) c[i] = c[i]! / cur.length;
    return { reference: r, current: c };
  }
  return sharesFromCounts(refCountMap(ref), ref.size, valueCounts(cur), cur.length);
}

function expandReference(ref: NumericalColumnProfile): Float64Array {
  const out = new Float64Array(ref.size);
  let i = 0;
  for (let k = 0; k < ref.values.length; k++) out.fill(ref.values[k]!, i, (i += ref.counts[k]!));
  return out;
}

function testNumerical(ref: NumericalColumnProfile, cur: Float64Array, method: DriftMethod): Decision {
  switch (method) {
    case "ks": {
      const scan = scanAgainstReference(ref, cur, cur.length);
      const ks = ksPValue(scan.ksStatistic, ref.size, cur.length);
      return { method, score: ks.pValue, statistic: ks.statistic, pValue: ks.pValue, pValueMode: ks.mode };
    }
    case "wasserstein": {
      const d = wassersteinAgainstReference(ref, cur, cur.length) / Math.max(ref.std, WASSERSTEIN_MIN_NORM);
      return { method, score: d, statistic: d };
    }
    case "psi":
    case "kl_div":
    case "jensenshannon": {
      const s = numericalShares(ref, cur);
      const f = method === "psi" ? psiFromShares : method === "kl_div" ? klFromShares : jensenShannonFromShares;
      const d = f(s.reference, s.current);
      return { method, score: d, statistic: d };
    }
    case "hellinger": {
      const sorted = Float64Array.from(cur).sort();
      const d = hellingerSorted(expandReference(ref), sorted);
      return { method, score: d, statistic: d };
    }
    case "chisquare": {
      const r = chiSquareFromCounts(refCountMap(ref), ref.size, valueCounts(cur), cur.length);
      return { method, score: r.pValue, statistic: r.statistic, pValue: r.pValue };
    }
    case "z": {
      const r = zTestFromCounts(refCountMap(ref), ref.size, valueCounts(cur), cur.length);
      return { method, score: r.pValue, statistic: r.statistic, pValue: r.pValue };
    }
  }
}

function testCategorical(ref: CategoricalColumnProfile, cur: CategoricalWindowColumn, method: DriftMethod): Decision {
  switch (method) {
    case "chisquare": {
      const r = chiSquareFromCounts(ref.counts, ref.size, cur.counts, cur.size);
      return { method, score: r.pValue, statistic: r.statistic, pValue: r.pValue };
    }
    case "z": {
      const r = zTestFromCounts(ref.counts, ref.size, cur.counts, cur.size);
      return { method, score: r.pValue, statistic: r.statistic, pValue: r.pValue };
    }
    case "psi":
    case "kl_div":
    case "jensenshannon": {
      const s = sharesFromCounts(ref.counts, ref.size, cur.counts, cur.size);
      const f = method === "psi" ? psiFromShares : method === "kl_div" ? klFromShares : jensenShannonFromShares;
      const d = f(s.reference, s.current);
      return { method, score: d, statistic: d };
    }
    case "hellinger": {
      const d = hellingerFromCounts(ref.counts, ref.size, cur.counts, cur.size);
      return { method, score: d, statistic: d };
    }
    case "ks":
    case "wasserstein":
      throw new DriftError("INVALID_ARGUMENT", `${ref.name}: method "${method}" applies to numerical columns only`);
  }
}

function isConstant(values: Float64Array): boolean {
  for (let i = 1; i < values.length; i++) if (values[i] !== values[0]) return false;
  return true;
}

/**
 * Computes the drift of a current window against a reference profile, with Evidently's default method
 * choice, thresholds and dataset drift share unless overridden.
 */
export function computeDriftReport(
  profile: ReferenceProfile,
  window: CurrentWindow,
  options: DriftReportOptions = {},
): DriftReport {
  const current = new Map(window.columns.map((c) => [c.name, c]));
  const results = profile.columns.map((ref): ColumnDriftResult => {
    const cur = current.get(ref.name);
    if (cur === undefined) throw new DriftError("UNKNOWN_COLUMN", `the current window has no column "${ref.name}"`);
    if (cur.kind !== ref.kind) {
      throw new DriftError("INVALID_ARGUMENT", `column "${ref.name}" is ${ref.kind} in the profile but ${cur.kind} in the window`);
    }
    const nanShareRef = share(ref.missingCount, ref.rowCount);
    const nanShareCur = share(cur.missingCount, cur.size + cur.missingCount);
    const base = {
      column: ref.name,
      kind: ref.kind,
      referenceSize: ref.size,
      currentSize: cur.size,
      nanShareRef,
      nanShareCur,
      nanShareDelta: nanShareCur - nanShareRef,
    };
    if (ref.size === 0 || cur.size === 0) {
      return {
        ...base,
        status: ref.size === 0 ? "empty-reference" : "empty-current",
        method: null,
        score: null,
        statistic: null,
        threshold: null,
        drifted: false,
        notes: [],
      };
    }
    const override = { ...(ref.kind === "numerical" ? options.numerical : options.categorical), ...options.columns?.[ref.name] };
    const notes: string[] = [];
    let decision: Decision;
    if (ref.kind === "numerical") {
      const values = (cur as NumericalWindowColumn).values.subarray(0, cur.size);
      const method = override.method ?? defaultMethod("numerical", ref.size, uniqueUpTo(ref, values, cur.size, 5));
      if (ref.values.length === 1) notes.push("constant-reference");
      if (isConstant(values)) notes.push("constant-current");
      decision = testNumerical(ref, values, method);
    } else {
      const c = cur as CategoricalWindowColumn;
      const keys = new Set([...ref.counts.keys(), ...c.counts.keys()]);
      const method = override.method ?? defaultMethod("categorical", ref.size, keys.size);
      if (ref.counts.size === 1) notes.push("constant-reference");
      if (c.counts.size === 1) notes.push("constant-current");
      if (keys.size > ref.counts.size) notes.push("new-categories");
      decision = testCategorical(ref, c, method);
    }
    const threshold = override.threshold ?? DRIFT_METHODS[decision.method].defaultThreshold;
    return {
      ...base,
      status: "tested",
      method: decision.method,
      score: decision.score,
      statistic: decision.statistic,
      ...(decision.pValue === undefined ? {} : { pValue: decision.pValue }),
      ...(decision.pValueMode === undefined ? {} : { pValueMode: decision.pValueMode }),
      threshold,
      drifted: isDrifted(decision.method, decision.score, threshold),
      notes,
    };
  });
  const driftShare = options.driftShare ?? DEFAULT_DRIFT_SHARE;
  const tested = results.filter((r) => r.status === "tested");
  const summary = datasetDrift(
    tested.map((r) => r.drifted),
    driftShare,
  );
  return {
    columns: results,
    dataset: { columns: tested.length, driftedColumns: summary.driftedColumns, share: summary.share, driftShare, datasetDrift: summary.datasetDrift },
  };
}
