import { commonConfigSchema, defineConfig, loadConfig, type ConfigOf } from "@loopline/kit";

/** drift-monitor's environment variables (plus the common LOOPLINE_* ones). */
export const driftMonitorConfigSchema = defineConfig({
  ...commonConfigSchema,
  adminPort: { type: "int", env: "LOOPLINE_DRIFT_ADMIN_PORT", default: 9405, min: 0, max: 65535, doc: "admin HTTP port (/metrics, /healthz, /readyz)" },
  consumerGroup: { type: "string", env: "LOOPLINE_DRIFT_GROUP", default: "loopline-drift-monitor", doc: "Kafka consumer group (one instance per group: windows are in memory)" },
  registryAddress: { type: "string", env: "LOOPLINE_REGISTRY_ADDRESS", default: "127.0.0.1:50053", doc: "model-registry gRPC address (signatures, thresholds, reference profiles)" },
  registryTimeoutMs: { type: "duration", env: "LOOPLINE_DRIFT_REGISTRY_TIMEOUT", default: 5000, doc: "deadline of one registry call" },
  windowSize: { type: "int", env: "LOOPLINE_DRIFT_WINDOW_SIZE", default: 1000, min: 1, max: 10_000_000, doc: "predictions per window: a window that fills is reported at once" },
  windowIntervalMs: { type: "duration", env: "LOOPLINE_DRIFT_WINDOW_INTERVAL", default: 60_000, doc: "a window open this long is reported once it holds LOOPLINE_DRIFT_MIN_WINDOW predictions" },
  minWindow: { type: "int", env: "LOOPLINE_DRIFT_MIN_WINDOW", default: 100, min: 1, doc: "fewest predictions a window needs to be reported when its interval passes" },
  segmentKeys: { type: "list", env: "LOOPLINE_DRIFT_SEGMENT_KEYS", default: [], doc: "served features that segment traffic, as name=view:feature or view:feature (e.g. country=card_txn:last_country); all traffic is always monitored as segment \"\"" },
  maxSegmentValues: { type: "int", env: "LOOPLINE_DRIFT_MAX_SEGMENT_VALUES", default: 50, min: 1, doc: "distinct values per segment key and model version; later ones are pooled as (other)" },
  driftShare: { type: "number", env: "LOOPLINE_DRIFT_SHARE", default: 0.5, min: 0, max: 1, doc: "share of drifted features at which the dataset drifts (Evidently's drift_share)" },
  joinBufferSize: { type: "int", env: "LOOPLINE_DRIFT_JOIN_BUFFER", default: 200_000, min: 1, doc: "most recent predictions kept for joining labels (older ones can no longer be labelled)" },
  labelledWindows: { type: "int", env: "LOOPLINE_DRIFT_LABELLED_WINDOWS", default: 24, min: 1, doc: "closed windows per model version, route and segment that still take late labels" },
  labelTimeToleranceMs: { type: "duration", env: "LOOPLINE_DRIFT_LABEL_TIME_TOLERANCE", default: 300_000, doc: "an entity-keyed label joins the prediction of its entity nearest its event time, at most this far" },
  labelWaitMs: { type: "duration", env: "LOOPLINE_DRIFT_LABEL_WAIT", default: 600_000, doc: "how long a label is kept for predictions that arrive after it (other routes, shadow, reordering)" },
  maxWaitingLabels: { type: "int", env: "LOOPLINE_DRIFT_MAX_WAITING_LABELS", default: 100_000, min: 1, doc: "most labels kept waiting; the oldest are dropped first" },
  refreshIntervalMs: { type: "duration", env: "LOOPLINE_DRIFT_REFRESH_INTERVAL", default: 30_000, doc: "how often reports of closed windows that received labels are re-published with refreshed performance" },
  idleTtlMs: { type: "duration", env: "LOOPLINE_DRIFT_IDLE_TTL", default: 3_600_000, doc: "a model version/route/segment without predictions this long is forgotten (its gauges removed)" },
  tickMs: { type: "duration", env: "LOOPLINE_DRIFT_TICK", default: 1000, doc: "how often interval windows, refreshes and expiry are checked" },
  sessionTimeoutMs: { type: "duration", env: "LOOPLINE_DRIFT_SESSION_TIMEOUT", default: 30_000, doc: "Kafka group session timeout" },
});

/** Typed drift-monitor config. */
export type DriftMonitorConfig = ConfigOf<typeof driftMonitorConfigSchema>;

/** Reads and validates drift-monitor's config; throws ConfigError naming every bad variable. */
export function loadDriftMonitorConfig(env: Readonly<Record<string, string | undefined>>): DriftMonitorConfig {
  return loadConfig(driftMonitorConfigSchema, env);
}
