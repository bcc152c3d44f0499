import type { ModelPolicy } from "./policy-config.js";

/** What the policies need to know about one drift report (production route, all traffic). */
export interface ReportFacts {
  readonly reportId: string;
  readonly modelVersion: string;
  readonly windowEndMs: number;
  readonly driftedShare: number;
  readonly datasetDrift: boolean;
  /** Labelled predictions in the window and their AUC (undefined with one class). */
  readonly labelled: number;
  readonly auc: number | undefined;
}

/** Per-model memory of the policies. */
export interface PolicyState {
  /** Consecutive drifted windows of the current production version. */
  readonly driftStreak: number;
  /** Version the streak is about (a new champion starts a new streak). */
  readonly streakVersion: string;
  /** Latest window end seen (older or repeated reports are ignored). */
  readonly lastWindowEndMs: number;
  /** When the last retrain started (any policy), epoch ms; 0 = never. */
  readonly lastRetrainMs: number;
  /** When the schedule last fired, epoch ms; 0 = never. */
  readonly lastScheduleMs: number;
}

/** The state of a model nobody has seen yet. */
export const INITIAL_POLICY_STATE: PolicyState = { driftStreak: 0, streakVersion: "", lastWindowEndMs: 0, lastRetrainMs: 0, lastScheduleMs: 0 };

/** A policy's verdict: whether it wants a retrain, and why. */
export interface PolicyVerdict {
  readonly policy: "drift" | "decay" | "schedule" | "manual";
  /** The condition holds. */
  readonly fired: boolean;
  readonly reason: string;
  readonly evidence: Record<string, unknown>;
}

/** The outcome of one evaluation: the new state and the verdicts (empty when the report was ignored). */
export interface Evaluation {
  readonly state: PolicyState;
  readonly verdicts: readonly PolicyVerdict[];
  /** Why the report was ignored (stale, not the production version), if it was. */
  readonly ignored?: string;
}

/**
 * Folds one drift report of the production version into the drift and decay policies. Reports about
 * another version, or with a window that does not end after the last one seen, are ignored (Kafka
 * redelivers; a late report must not count twice). A non-drifted window resets the streak.
 */
export function evaluateReport(state: PolicyState, report: ReportFacts, policy: ModelPolicy, production: { version: string; offlineAuc: number | undefined }): Evaluation {
  if (report.modelVersion !== production.version) return { state, verdicts: [], ignored: `report about version ${report.modelVersion}, production is ${production.version || "none"}` };
  if (report.windowEndMs <= state.lastWindowEndMs && state.streakVersion === report.modelVersion) {
    return { state, verdicts: [], ignored: `window ending ${report.windowEndMs} is not after the last one seen (${state.lastWindowEndMs})` };
  }
  const drifted = report.driftedShare >= policy.drift.driftedShare;
  const previous = state.streakVersion === report.modelVersion ? state.driftStreak : 0;
  const streak = drifted ? previous + 1 : 0;
  const next: PolicyState = { ...state, driftStreak: streak, streakVersion: report.modelVersion, lastWindowEndMs: report.windowEndMs };
  const verdicts: PolicyVerdict[] = [];
  if (policy.drift.enabled) {
    const fired = streak >= policy.drift.consecutive;
    verdicts.push({
      policy: "drift",
      fired,
      reason: fired
        ? `drifted_share ≥ ${policy.drift.driftedShare} for ${streak} consecutive windows (needs ${policy.drift.consecutive})`
        : drifted
          ? `drifted_share ${report.driftedShare.toFixed(3)} ≥ ${policy.drift.driftedShare}, ${streak} of ${policy.drift.consecutive} consecutive windows`
          : `drifted_share ${report.driftedShare.toFixed(3)} < ${policy.drift.driftedShare}`,
      evidence: { report_id: report.reportId, drifted_share: report.driftedShare, dataset_drift: report.datasetDrift, streak, required: policy.drift.consecutive, threshold: policy.drift.driftedShare },
    });
  }
  if (policy.decay.enabled) verdicts.push(decayVerdict(report, policy, production.offlineAuc));
  return { state: next, verdicts };
}

function decayVerdict(report: ReportFacts, policy: ModelPolicy, baseline: number | undefined): PolicyVerdict {
  const { aucFloor, maxDrop, minLabelled } = policy.decay;
  const evidence = { report_id: report.reportId, labelled: report.labelled, auc: report.auc ?? null, auc_floor: aucFloor, baseline_auc: baseline ?? null, max_drop: maxDrop, min_labelled: minLabelled };
  if (report.labelled < minLabelled || report.auc === undefined) {
    return { policy: "decay", fired: false, reason: `${report.labelled} labelled predictions (needs ${minLabelled} with both classes)`, evidence };
  }
  if (report.auc < aucFloor) return { policy: "decay", fired: true, reason: `labelled AUC ${report.auc.toFixed(4)} < floor ${aucFloor}`, evidence };
  if (baseline !== undefined && report.auc < baseline - maxDrop) {
    return { policy: "decay", fired: true, reason: `labelled AUC ${report.auc.toFixed(4)} < champion's offline AUC ${baseline.toFixed(4)} − ${maxDrop}`, evidence };
  }
  return { policy: "decay", fired: false, reason: `labelled AUC ${report.auc.toFixed(4)} within bounds`, evidence };
}

/** The schedule policy at `now`: fires when `everyMs` has passed since it last fired (or since start). */
export function evaluateSchedule(state: PolicyState, policy: ModelPolicy, now: number, startedMs: number): PolicyVerdict | undefined {
  if (policy.schedule.everyMs <= 0) return undefined;
  const since = state.lastScheduleMs === 0 ? startedMs : state.lastScheduleMs;
  if (now - since < policy.schedule.everyMs) return undefined;
  return { policy: "schedule", fired: true, reason: `scheduled every ${policy.schedule.everyMs} ms`, evidence: { last_ms: state.lastScheduleMs, every_ms: policy.schedule.everyMs } };
}

/** Whether a fired verdict may start a retrain now. */
export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly reason: string };

/** At most one retrain in flight per model, and none within the cooldown of the previous one. */
export function admitRetrain(state: PolicyState, policy: ModelPolicy, now: number, inFlight: string | undefined): Admission {
  if (inFlight !== undefined) return { admitted: false, reason: `a retrain is already in flight (${inFlight})` };
  if (state.lastRetrainMs > 0 && now - state.lastRetrainMs < policy.cooldownMs) {
    return { admitted: false, reason: `cooldown: last retrain ${now - state.lastRetrainMs} ms ago (cooldown ${policy.cooldownMs} ms)` };
  }
  return { admitted: true };
}
