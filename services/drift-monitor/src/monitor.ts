// The monitor's pure core: series of windows per model version × route × segment, closed by count or by
// interval, their drift reports, and labelled performance refreshed as late labels land. No I/O: the service
// feeds it decoded records and publishes what it hands back; tests drive it with their own clock.
import { randomUUID } from "node:crypto";
import type { DriftReport } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import type { LabelInput, Prediction } from "./decode.js";
import { createJoinBuffer, type Slot } from "./join-buffer.js";
import type { MonitoredVersion } from "./monitored-version.js";
import { buildDriftReport, refreshedReport } from "./report-builder.js";
import { ALL_TRAFFIC, createSegmentCap, segmentValue, type SegmentKey } from "./segments.js";
import { SCORE_WINDOW_COLUMN, addToWindow, openWindow, type SeriesKey, type Window } from "./window.js";

/** Options of createDriftMonitor. */
export interface DriftMonitorOptions {
  /** Predictions that fill a window (reported at once). */
  readonly windowSize: number;
  /** Age at which a window is reported if it holds at least minWindow predictions, ms. */
  readonly windowIntervalMs: number;
  /** Fewest predictions an interval-closed window needs. */
  readonly minWindow: number;
  /** Segment keys; all traffic ("") is always a series of its own. Default none. */
  readonly segmentKeys?: readonly SegmentKey[];
  /** Distinct values per segment key and model version before pooling as (other). Default 50. */
  readonly maxSegmentValues?: number;
  /** Share of drifted features at which the dataset drifts. Default 0.5. */
  readonly driftShare?: number;
  /** Predictions kept for joining labels. Default 200000. */
  readonly joinBufferSize?: number;
  /** Closed windows per series still taking labels. Default 24. */
  readonly labelledWindows?: number;
  /** Entity-keyed labels join the nearest prediction at most this far from their event time, ms. Default 300000. */
  readonly labelTimeToleranceMs?: number;
  /** How long a label waits for predictions arriving after it, ms. Default 600000. */
  readonly labelWaitMs?: number;
  /** Most labels waiting. Default 100000. */
  readonly maxWaitingLabels?: number;
  /** Least time between two refreshes of a closed window's performance, ms. Default 30000. */
  readonly refreshIntervalMs?: number;
  /** A series without predictions this long is forgotten, ms. Default 3600000. */
  readonly idleTtlMs?: number;
  /** Wall clock. Default Date.now. */
  readonly now?: () => number;
  /** Report ids. Default random UUIDs. */
  readonly newId?: () => string;
}

/** A report to publish, with the series it belongs to. */
export interface EmittedReport {
  readonly report: DriftReport;
  readonly series: SeriesKey;
  /** Window sequence in its series (newer windows have larger numbers). */
  readonly sequence: number;
  /** "closed" when the window was just reported, "refresh" when only its performance changed. */
  readonly kind: "closed" | "refresh";
  /** Offline AUC of the version, when the registry has one. */
  readonly referenceAuc: number | undefined;
}

/** The monitor. */
export interface DriftMonitor {
  /** Counts a prediction in its series' open windows (closing those that fill); false for a redelivered one. */
  addPrediction(prediction: Prediction, version: MonitoredVersion): boolean;
  /** Joins a label to the buffered predictions it matches; returns how many it labelled (0: it waits). */
  addLabel(label: LabelInput): number;
  /** Closes windows whose interval passed, refreshes performance, expires labels, forgets idle series. */
  tick(): void;
  /** Closes every open window that holds at least minWindow predictions (shutdown). */
  closeAll(): void;
  /** Reports produced since the last call, oldest first. */
  takeReports(): EmittedReport[];
  /** Series forgotten since the last call (their metrics should go). */
  takeForgotten(): SeriesKey[];
  readonly stats: { readonly series: number; readonly openPredictions: number; readonly joinBuffer: number; readonly waitingLabels: number };
}

interface Series {
  readonly key: SeriesKey;
  open: Window | undefined;
  /** Closed windows still taking labels, oldest first. */
  readonly closed: Window[];
  sequence: number;
  lastSeen: number;
  lastRefresh: number;
}

/** Creates the monitor's core. */
export function createDriftMonitor(options: DriftMonitorOptions): DriftMonitor {
  const now = options.now ?? Date.now;
  const newId = options.newId ?? randomUUID;
  const segmentKeys = options.segmentKeys ?? [];
  const driftShare = options.driftShare ?? 0.5;
  const labelledWindows = options.labelledWindows ?? 24;
  const refreshIntervalMs = options.refreshIntervalMs ?? 30_000;
  const idleTtlMs = options.idleTtlMs ?? 3_600_000;
  const capacity = Math.min(options.windowSize, 1024);
  const cap = createSegmentCap(options.maxSegmentValues ?? 50);
  const join = createJoinBuffer({
    maxPredictions: options.joinBufferSize ?? 200_000,
    timeToleranceMs: options.labelTimeToleranceMs ?? 300_000,
    labelWaitMs: options.labelWaitMs ?? 600_000,
    maxWaitingLabels: options.maxWaitingLabels ?? 100_000,
  });
  const series = new Map<string, Series>();
  let reports: EmittedReport[] = [];
  let forgotten: SeriesKey[] = [];

  const seriesOf = (p: Prediction, segment: string): Series => {
    const id = [p.model, p.modelVersion, String(p.route), segment].join("\u0000");
    let s = series.get(id);
    if (s === undefined) {
      const key: SeriesKey = { id, model: p.model, version: p.modelVersion, route: p.route, segment };
      series.set(id, (s = { key, open: undefined, closed: [], sequence: 0, lastSeen: now(), lastRefresh: 0 }));
    }
    return s;
  };

  const close = (s: Series) => {
    const w = s.open;
    if (w === undefined || w.current === undefined) return;
    s.open = undefined;
    const t = now();
    w.report = buildDriftReport(w, w.current, t, driftShare);
    w.current = undefined; // the drift part is final: free the samples, keep scores and labels
    w.dirty = false;
    s.closed.push(w);
    while (s.closed.length > labelledWindows) (s.closed.shift() as Window).retired = true;
    reports.push({ report: w.report, series: s.key, sequence: w.sequence, kind: "closed", referenceAuc: w.version.referenceAuc });
  };

  const segmentFeatureOf = (segment: string): string | undefined => {
    if (segment === ALL_TRAFFIC) return undefined;
    const name = segment.slice(0, segment.indexOf("="));
    return segmentKeys.find((k) => k.name === name)?.featureRef;
  };

  return {
    addPrediction(p, version) {
      const group = [p.model, p.modelVersion, String(p.route)].join("\u0000");
      if (join.has(p.requestId, group, p.timeMs)) return false;
      const segments = [ALL_TRAFFIC];
      const scope = `${p.model}\u0000${p.modelVersion}`;
      for (const key of segmentKeys) {
        if (!p.features.has(key.featureRef)) continue; // not a feature of this model
        segments.push(cap.label(scope, key, segmentValue(p.features.get(key.featureRef))));
      }
      const row: Record<string, unknown> = { [SCORE_WINDOW_COLUMN]: p.score };
      for (const f of version.features) {
        const value = p.features.get(f.ref);
        // The signature feeds booleans to the model as 0/1: compare them as numbers too.
        row[f.ref] = f.kind === "numerical" && typeof value === "boolean" ? Number(value) : value;
      }
      const slots: Slot[] = [];
      const t = now();
      for (const segment of segments) {
        const s = seriesOf(p, segment);
        s.lastSeen = t;
        s.open ??= openWindow({ id: newId(), series: s.key, version, segmentFeature: segmentFeatureOf(segment), sequence: ++s.sequence, openedAt: t, capacity });
        const w = s.open;
        slots.push({ window: w, index: addToWindow(w, row, p.score, p.timeMs) });
        if (w.scores.length >= options.windowSize) close(s);
      }
      join.addPrediction({ requestId: p.requestId, entityId: p.entityId, timeMs: p.timeMs, group, slots });
      return true;
    },

    addLabel(label) {
      return join.addLabel(label, now());
    },

    tick() {
      const t = now();
      for (const s of series.values()) {
        if (s.open !== undefined && t - s.open.openedAt >= options.windowIntervalMs && s.open.scores.length >= options.minWindow) close(s);
        if (t - s.lastRefresh >= refreshIntervalMs) {
          let refreshed = false;
          for (const w of s.closed) {
            if (!w.dirty || w.report === undefined) continue;
            w.dirty = false;
            w.report = refreshedReport(w.report, w, t);
            reports.push({ report: w.report, series: s.key, sequence: w.sequence, kind: "refresh", referenceAuc: w.version.referenceAuc });
            refreshed = true;
          }
          if (refreshed) s.lastRefresh = t;
        }
        if (t - s.lastSeen >= idleTtlMs && (s.open === undefined || s.open.scores.length < options.minWindow)) {
          for (const w of s.closed) w.retired = true;
          if (s.open !== undefined) s.open.retired = true;
          series.delete(s.key.id);
          forgotten.push(s.key);
          if (s.key.segment === ALL_TRAFFIC) cap.forget(`${s.key.model}\u0000${s.key.version}`);
        }
      }
      join.expire(t);
    },

    closeAll() {
      for (const s of series.values()) if (s.open !== undefined && s.open.scores.length >= options.minWindow) close(s);
    },

    takeReports() {
      const out = reports;
      reports = [];
      return out;
    },

    takeForgotten() {
      const out = forgotten;
      forgotten = [];
      return out;
    },

    get stats() {
      let open = 0;
      for (const s of series.values()) open += s.open?.scores.length ?? 0;
      return { series: series.size, openPredictions: open, joinBuffer: join.predictions, waitingLabels: join.waitingLabels };
    },
  };
}
