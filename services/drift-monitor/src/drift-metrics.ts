// Prometheus view of the reports: the latest drift of every series and feature, and the performance of the
// newest window of each series that has labels. Alerting rules (infra/prometheus/alerts.yml) read these.
import type { Metrics } from "@loopline/kit";
import type { Counter, Gauge } from "prom-client";
import { Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import type { ColumnDrift } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import type { EmittedReport } from "./monitor.js";
import type { SeriesKey } from "./window.js";

/** Metric label value of a route: "production", "canary", "shadow" or "unspecified". */
export function routeLabel(route: Route): string {
  return (Route[route] ?? "UNSPECIFIED").toLowerCase();
}

/** Evidently's drift_score of a tested column: the p-value for tests, the distance otherwise. */
export function driftScore(c: ColumnDrift): number {
  return c.pValue ?? c.statistic;
}

const SERIES = ["model", "version", "route", "segment"] as const;
const FEATURE = [...SERIES, "feature"] as const;

/** The drift and performance gauges plus the service's counters. */
export interface DriftMetrics {
  /** Updates the gauges from a published report. */
  observe(e: EmittedReport): void;
  /** Removes every series of a forgotten model version/route/segment. */
  forget(key: SeriesKey): void;
  /** Records consumed, by topic and outcome. */
  readonly records: Counter<"topic" | "outcome">;
  /** Labels, by outcome. */
  readonly labels: Counter<"outcome">;
  /** Reports published, by kind. */
  readonly published: Counter<"kind">;
  /** Failed publish attempts. */
  readonly publishFailures: Counter;
  /** Sizes of the monitor's state. */
  readonly state: Gauge<"what">;
}

/** Registers the drift-monitor metrics. */
export function createDriftMetrics(metrics: Metrics): DriftMetrics {
  const g = (name: string, help: string, labels: readonly string[]) => metrics.gauge(name, help, labels);
  const score = g("loopline_drift_score", "Evidently drift_score of the latest window per feature (p-value for ks/chisquare/z: drift when below the threshold; distance otherwise: drift when at or above); feature=\"score\" is prediction drift", FEATURE);
  const drifted = g("loopline_drift_drifted", "1 when the feature drifted in the latest window, else 0", FEATURE);
  const threshold = g("loopline_drift_threshold", "Threshold the latest drift_score was compared with", FEATURE);
  const missing = g("loopline_drift_missing_share", "Share of missing values (null, not served, NaN) in the latest window", FEATURE);
  const missingDelta = g("loopline_drift_missing_share_delta", "Missing share of the latest window minus the reference's", FEATURE);
  const share = g("loopline_drift_drifted_share", "Share of tested features that drifted in the latest window", SERIES);
  const dataset = g("loopline_drift_dataset_drift", "1 when the latest window's drifted share reached the dataset threshold (LOOPLINE_DRIFT_SHARE), else 0", SERIES);
  const windowSize = g("loopline_drift_window_predictions", "Predictions in the latest reported window", SERIES);
  const windowEnd = g("loopline_drift_window_end_seconds", "Prediction time of the latest reported window's last prediction", SERIES);
  const auc = g("loopline_model_auc", "ROC AUC of the newest window with labels (absent while only one class is labelled)", SERIES);
  const labelled = g("loopline_model_labelled", "Labelled predictions behind the loopline_model_* gauges", SERIES);
  const positives = g("loopline_model_positives", "Positive labels behind the loopline_model_* gauges", SERIES);
  const accuracy = g("loopline_model_accuracy", "Accuracy at the model's threshold, newest window with labels", SERIES);
  const precision = g("loopline_model_precision", "Precision at the model's threshold, newest window with labels", SERIES);
  const recall = g("loopline_model_recall", "Recall at the model's threshold, newest window with labels", SERIES);
  const logLoss = g("loopline_model_log_loss", "Log loss (probabilities clipped to [eps, 1-eps]), newest window with labels", SERIES);
  const calibration = g("loopline_model_calibration_error", "Expected calibration error over 10 equal-width bins, newest window with labels", SERIES);
  const referenceAuc = g("loopline_model_reference_auc", "Offline AUC the version was registered with (metrics[\"auc\"])", ["model", "version"]);
  const perSeries = [share, dataset, windowSize, windowEnd, auc, labelled, positives, accuracy, precision, recall, logLoss, calibration];
  const perFeature = [score, drifted, threshold, missing, missingDelta];

  // Per series: the features with gauges (to remove them) and the newest window behind the performance gauges.
  const features = new Map<string, Set<string>>();
  const performanceSequence = new Map<string, number>();

  const seriesLabels = (k: SeriesKey) => ({ model: k.model, version: k.version, route: routeLabel(k.route), segment: k.segment });

  return {
    records: metrics.counter("loopline_drift_records_total", "Records consumed by topic and outcome (accepted, duplicate, unknown_version, dead_lettered)", ["topic", "outcome"]),
    labels: metrics.counter("loopline_drift_labels_total", "Labels by outcome (joined: matched buffered predictions; waiting: none yet)", ["outcome"]),
    published: metrics.counter("loopline_drift_reports_total", "DriftReports published (closed: a window was reported; refresh: its performance was updated)", ["kind"]),
    publishFailures: metrics.counter("loopline_drift_publish_failures_total", "Failed attempts to publish reports (kept and retried)"),
    state: metrics.gauge("loopline_drift_state", "Monitor state: series, open_predictions, join_buffer, waiting_labels, outbox", ["what"]),

    observe(e) {
      const s = seriesLabels(e.series);
      const r = e.report;
      if (e.referenceAuc !== undefined) referenceAuc.set({ model: s.model, version: s.version }, e.referenceAuc);
      if (e.kind === "closed") {
        let seen = features.get(e.series.id);
        if (seen === undefined) features.set(e.series.id, (seen = new Set()));
        for (const c of [...r.features, ...(r.prediction === undefined ? [] : [r.prediction])]) {
          const l = { ...s, feature: c.column };
          seen.add(c.column);
          missing.set(l, c.missingShareCurrent);
          missingDelta.set(l, c.missingShareCurrent - c.missingShareReference);
          if (c.method === "") {
            // Not tested (no reference, empty, segment key): no score rather than a stale or made-up one.
            score.remove(l);
            drifted.remove(l);
            threshold.remove(l);
            continue;
          }
          score.set(l, driftScore(c));
          drifted.set(l, c.drifted ? 1 : 0);
          threshold.set(l, c.threshold);
        }
        share.set(s, r.driftedShare);
        dataset.set(s, r.datasetDrift ? 1 : 0);
        windowSize.set(s, Number(r.nCurrent));
        windowEnd.set(s, Number(r.windowEndMs) / 1000);
      }
      const p = r.performance;
      if (p === undefined || e.sequence < (performanceSequence.get(e.series.id) ?? 0)) return;
      performanceSequence.set(e.series.id, e.sequence);
      if (p.auc === undefined) auc.remove(s);
      else auc.set(s, p.auc);
      labelled.set(s, Number(p.labelled));
      positives.set(s, Number(p.positives));
      accuracy.set(s, p.accuracy);
      precision.set(s, p.precision);
      recall.set(s, p.recall);
      logLoss.set(s, p.logLoss);
      calibration.set(s, p.calibrationError);
    },

    forget(key) {
      const s = seriesLabels(key);
      for (const gauge of perSeries) gauge.remove(s);
      for (const feature of features.get(key.id) ?? []) for (const gauge of perFeature) gauge.remove({ ...s, feature });
      features.delete(key.id);
      performanceSequence.delete(key.id);
    },
  };
}
