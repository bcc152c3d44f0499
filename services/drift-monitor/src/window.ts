// One window of one series (model version × route × segment): the streaming drift state of its features and
// score, and the scores and labels of its predictions for performance once labels arrive.
import { createCurrentWindow, type ColumnSpec, type CurrentWindow } from "@loopline/drift";
import type { Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import type { DriftReport } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import type { MonitoredVersion } from "./monitored-version.js";

/** Window column of the score; cannot collide with a feature ref. */
export const SCORE_WINDOW_COLUMN = "\u0000score";

/** What a series is: the labels of its reports and metrics. */
export interface SeriesKey {
  /** model, version, route and segment joined by NUL: unique. */
  readonly id: string;
  readonly model: string;
  readonly version: string;
  readonly route: Route;
  /** "" for all traffic, else "name=value". */
  readonly segment: string;
}

/** A window: open while it fills, then closed with its report and still taking labels. */
export interface Window {
  /** The report id; a refreshed report keeps it. */
  readonly id: string;
  readonly series: SeriesKey;
  readonly version: MonitoredVersion;
  /** Feature that defines the window's segment: constant within it, so reported but not tested. */
  readonly segmentFeature: string | undefined;
  /** 1, 2, ... per series, in the order windows open. */
  readonly sequence: number;
  /** Wall-clock time the window opened (the interval runs from here). */
  readonly openedAt: number;
  /** Drift state; released once the window is closed and reported. */
  current: CurrentWindow | undefined;
  readonly scores: number[];
  /** Label per prediction, NaN while unknown. */
  readonly labels: number[];
  labelled: number;
  /** Prediction times (time_ms) of the earliest and latest prediction. */
  firstTimeMs: number;
  lastTimeMs: number;
  /** Set at close: the drift part is final, only performance is refreshed. */
  report: DriftReport | undefined;
  /** Labels arrived since the report was last published. */
  dirty: boolean;
  /** Dropped from the series: late labels for it are ignored. */
  retired: boolean;
}

/** The columns a window of this version tracks: every signature feature and the score. */
export function windowColumns(version: MonitoredVersion): ColumnSpec[] {
  return [...version.features.map((f) => ({ name: f.ref, kind: f.kind })), { name: SCORE_WINDOW_COLUMN, kind: "numerical" as const }];
}

/** Opens an empty window. */
export function openWindow(init: { id: string; series: SeriesKey; version: MonitoredVersion; segmentFeature: string | undefined; sequence: number; openedAt: number; capacity: number }): Window {
  return {
    ...init,
    current: createCurrentWindow(windowColumns(init.version), { initialCapacity: init.capacity }),
    scores: [],
    labels: [],
    labelled: 0,
    firstTimeMs: Number.POSITIVE_INFINITY,
    lastTimeMs: Number.NEGATIVE_INFINITY,
    report: undefined,
    dirty: false,
    retired: false,
  };
}

/** Adds one prediction's row (features by ref plus SCORE_WINDOW_COLUMN); returns its index in the window. */
export function addToWindow(w: Window, row: Readonly<Record<string, unknown>>, score: number, timeMs: number): number {
  w.current?.add(row);
  w.scores.push(score);
  w.labels.push(Number.NaN);
  if (timeMs < w.firstTimeMs) w.firstTimeMs = timeMs;
  if (timeMs > w.lastTimeMs) w.lastTimeMs = timeMs;
  return w.scores.length - 1;
}

/** Sets the label of the prediction at `index`; true when it changed. */
export function labelInWindow(w: Window, index: number, label: 0 | 1): boolean {
  if (w.retired) return false;
  const before = w.labels[index];
  if (before === label) return false;
  if (before === undefined) return false;
  if (Number.isNaN(before)) w.labelled++;
  w.labels[index] = label;
  if (w.report !== undefined) w.dirty = true;
  return true;
}

/** Scores and labels of the labelled predictions (a non-finite score cannot be ranked and is left out). */
export function labelledPairs(w: Window): { scores: Float64Array; labels: Float64Array } {
  const scores = new Float64Array(w.labelled);
  const labels = new Float64Array(w.labelled);
  let k = 0;
  for (let i = 0; i < w.labels.length; i++) {
    const l = w.labels[i]!;
    const s = w.scores[i]!;
    if (Number.isNaN(l) || !Number.isFinite(s)) continue;
    scores[k] = s;
    labels[k++] = l;
  }
  return { scores: scores.subarray(0, k), labels: labels.subarray(0, k) };
}
