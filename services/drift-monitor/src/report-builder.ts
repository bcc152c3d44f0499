// Turns a closed window into the loopline.v1.DriftReport contract: Evidently-default drift of every signature
// feature and of the score against the version's reference profile, missing shares, the dataset verdict,
// and labelled performance when labels have arrived.
import { clone, create } from "@bufbuild/protobuf";
import { computeDriftReport, type ColumnDriftResult, type ColumnProfile, type CurrentWindow, type WindowColumn } from "@loopline/drift";
import {
  ColumnDriftSchema,
  DriftReportSchema,
  PerformanceSchema,
  type ColumnDrift,
  type DriftReport,
  type Performance,
} from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import { SCORE_COLUMN } from "./monitored-version.js";
import { summarizePerformance } from "./performance.js";
import { SCORE_WINDOW_COLUMN, labelledPairs, type Window } from "./window.js";

/** Note on a column that defines the window's segment. */
export const NOTE_SEGMENT_KEY = "segment key: constant within its segment, not tested";
/** Note on a feature the reference profile does not describe. */
export const NOTE_NOT_IN_PROFILE = "not in the reference profile";
/** Note on the score when the profile has no score column. */
export const NOTE_NO_SCORE_REFERENCE = `the reference profile has no numerical "${SCORE_COLUMN}" column: prediction drift not computed`;

const SKIP_NOTES: Record<string, string> = {
  "empty-reference": "empty-reference: the reference has no values",
  "empty-current": "empty-current: no values in the window",
};

function missingShare(column: { size: number; missingCount: number } | undefined): number {
  if (column === undefined) return 0;
  const rows = column.size + column.missingCount;
  return rows === 0 ? 0 : column.missingCount / rows;
}

function referenceMissingShare(reference: ColumnProfile | undefined): number {
  return reference === undefined || reference.rowCount === 0 ? 0 : reference.missingCount / reference.rowCount;
}

function untested(column: string, note: string, current: WindowColumn | undefined, reference: ColumnProfile | undefined): ColumnDrift {
  return create(ColumnDriftSchema, {
    column,
    note,
    missingShareReference: referenceMissingShare(reference),
    missingShareCurrent: missingShare(current),
    nReference: BigInt(reference?.size ?? 0),
    nCurrent: BigInt(current?.size ?? 0),
  });
}

function tested(column: string, r: ColumnDriftResult): ColumnDrift {
  const notes = [...(r.status === "tested" ? [] : [SKIP_NOTES[r.status] ?? r.status]), ...r.notes];
  return create(ColumnDriftSchema, {
    column,
    method: r.method ?? "",
    statistic: r.statistic ?? 0,
    ...(r.pValue === undefined ? {} : { pValue: r.pValue }),
    threshold: r.threshold ?? 0,
    drifted: r.drifted,
    missingShareReference: r.nanShareRef,
    missingShareCurrent: r.nanShareCur,
    note: notes.join("; "),
    nReference: BigInt(r.referenceSize),
    nCurrent: BigInt(r.currentSize),
  });
}

/** Performance of the window's labelled predictions at the version's threshold; undefined before any label. */
export function windowPerformance(w: Window): Performance | undefined {
  const pairs = labelledPairs(w);
  const p = summarizePerformance(pairs.scores, pairs.labels, w.version.threshold);
  if (p === undefined) return undefined;
  return create(PerformanceSchema, {
    labelled: BigInt(p.labelled),
    positives: BigInt(p.positives),
    ...(p.auc === undefined ? {} : { auc: p.auc }),
    accuracy: p.accuracy,
    precision: p.precision,
    recall: p.recall,
    logLoss: p.logLoss,
    calibrationError: p.calibrationError,
    threshold: p.threshold,
  });
}

/**
 * The report of a window. Features are listed in signature order; the dataset verdict counts only the
 * features that were tested (Evidently's share of drifted columns), never the score.
 */
export function buildDriftReport(w: Window, current: CurrentWindow, timeMs: number, driftShare: number): DriftReport {
  const v = w.version;
  const columns = new Map(current.columns.map((c) => [c.name, c]));
  const testable = v.profileProblem === "" ? v.features.filter((f) => f.reference !== undefined && f.ref !== w.segmentFeature) : [];
  const drift = computeDriftReport({ columns: testable.map((f) => f.reference as ColumnProfile) }, current, { driftShare });
  const results = new Map(drift.columns.map((r) => [r.column, r]));
  const features = v.features.map((f) => {
    const result = results.get(f.ref);
    if (result !== undefined) return tested(f.ref, result);
    const note = f.ref === w.segmentFeature ? NOTE_SEGMENT_KEY : v.profileProblem !== "" ? v.profileProblem : NOTE_NOT_IN_PROFILE;
    return untested(f.ref, note, columns.get(f.ref), f.reference);
  });
  let prediction: ColumnDrift;
  if (v.profileProblem !== "") {
    prediction = untested(SCORE_COLUMN, v.profileProblem, columns.get(SCORE_WINDOW_COLUMN), undefined);
  } else if (v.scoreReference === undefined) {
    prediction = untested(SCORE_COLUMN, NOTE_NO_SCORE_REFERENCE, columns.get(SCORE_WINDOW_COLUMN), undefined);
  } else {
    const score = computeDriftReport({ columns: [{ ...v.scoreReference, name: SCORE_WINDOW_COLUMN }] }, current);
    prediction = tested(SCORE_COLUMN, score.columns[0] as ColumnDriftResult);
  }
  const performance = windowPerformance(w);
  return create(DriftReportSchema, {
    reportId: w.id,
    timeMs: BigInt(timeMs),
    model: v.model,
    modelVersion: v.version,
    route: w.series.route,
    segment: w.series.segment,
    windowStartMs: BigInt(Number.isFinite(w.firstTimeMs) ? w.firstTimeMs : 0),
    windowEndMs: BigInt(Number.isFinite(w.lastTimeMs) ? w.lastTimeMs : 0),
    nCurrent: BigInt(w.scores.length),
    features,
    prediction,
    driftedCount: drift.dataset.driftedColumns,
    driftedShare: drift.dataset.share,
    datasetDrift: drift.dataset.datasetDrift,
    driftShare,
    ...(performance === undefined ? {} : { performance }),
  });
}

/** A closed window's report again, with performance recomputed from the labels now known and a new time. */
export function refreshedReport(report: DriftReport, w: Window, timeMs: number): DriftReport {
  const copy = clone(DriftReportSchema, report);
  copy.timeMs = BigInt(timeMs);
  copy.performance = windowPerformance(w);
  return copy;
}
