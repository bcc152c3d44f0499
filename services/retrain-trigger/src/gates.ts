import type { BinaryMetrics } from "@loopline/trainer";
import { pairedBootstrapAuc, type ScoredPairs } from "./paired-bootstrap.js";
import type { ModelPolicy } from "./policy-config.js";

/** One check of a gate, with the numbers behind it. */
export interface GateCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
  readonly value?: number | null;
  readonly limit?: number | null;
}

/** A gate's verdict: passed, failed, or (shadow/canary) still waiting for evidence. */
export interface GateResult {
  readonly gate: "offline" | "shadow" | "canary";
  readonly status: "passed" | "failed" | "waiting";
  readonly checks: readonly GateCheck[];
  /** Extra numbers recorded as evidence. */
  readonly evidence: Record<string, unknown>;
}

/** The first failed check's detail, or a summary. */
export function gateSummary(result: GateResult): string {
  const failed = result.checks.filter((c) => !c.passed);
  if (result.status === "passed") return `${result.gate} gate passed: ${result.checks.map((c) => c.detail).join("; ")}`;
  if (result.status === "waiting") return `${result.gate} gate waiting: ${result.checks.map((c) => c.detail).join("; ")}`;
  return `${result.gate} gate failed: ${failed.map((c) => c.detail).join("; ")}`;
}

const fmt = (v: number | undefined) => (v === undefined ? "n/a" : v.toFixed(4));

/** What the offline gate compares: both models scored by onnxruntime on the same holdout rows. */
export interface OfflineInputs {
  readonly challenger: BinaryMetrics;
  /** The champion on the same holdout; undefined for a model's first version. */
  readonly champion: BinaryMetrics | undefined;
  /** Median single-row ONNX run time of the challenger, ms. */
  readonly latencyP50Ms: number | undefined;
}

/**
 * Offline gate (TFX's "blessing"): challenger AUC ≥ champion AUC − ε on the same holdout (or ≥
 * min_auc without a champion); calibration error ≤ bound; single-row latency within budget.
 */
export function offlineGate(inputs: OfflineInputs, policy: ModelPolicy["offline"]): GateResult {
  const checks: GateCheck[] = [];
  const auc = inputs.challenger.auc;
  if (inputs.champion === undefined) {
    checks.push({ name: "auc", passed: auc !== undefined && auc >= policy.minAuc, value: auc ?? null, limit: policy.minAuc, detail: `AUC ${fmt(auc)} vs minimum ${policy.minAuc} (no champion)` });
  } else {
    const base = inputs.champion.auc;
    const limit = base === undefined ? policy.minAuc : base - policy.aucEpsilon;
    checks.push({
      name: "auc",
      passed: auc !== undefined && auc >= limit,
      value: auc ?? null,
      limit,
      detail: `AUC ${fmt(auc)} vs champion ${fmt(base)} − ε ${policy.aucEpsilon} on the same ${inputs.challenger.rows} holdout rows`,
    });
  }
  const ece = inputs.challenger.calibrationError;
  checks.push({ name: "calibration", passed: ece <= policy.maxCalibrationError, value: ece, limit: policy.maxCalibrationError, detail: `ECE ${fmt(ece)} vs bound ${policy.maxCalibrationError}` });
  const latency = inputs.latencyP50Ms;
  checks.push({
    name: "latency",
    passed: latency === undefined || latency <= policy.latencyBudgetMs,
    value: latency ?? null,
    limit: policy.latencyBudgetMs,
    detail: latency === undefined ? "latency not measured" : `p50 single-row ONNX run ${latency.toFixed(3)} ms vs budget ${policy.latencyBudgetMs} ms`,
  });
  return {
    gate: "offline",
    status: checks.every((c) => c.passed) ? "passed" : "failed",
    checks,
    evidence: { challenger: inputs.challenger, champion: inputs.champion ?? null },
  };
}

/**
 * Shadow gate: non-inferiority of the challenger on the same requests as the champion. Waits until
 * `minLabelled` labelled pairs exist, then passes when the one-sided lower bound of the paired
 * bootstrap AUC difference is ≥ −ε, and fails otherwise; fails when the timeout passes first.
 */
export function shadowGate(pairs: ScoredPairs, policy: ModelPolicy["shadow"], elapsedMs: number, seed: number): GateResult {
  const n = pairs.labels.length;
  if (n < policy.minLabelled) {
    const timedOut = elapsedMs >= policy.timeoutMs;
    return {
      gate: "shadow",
      status: timedOut ? "failed" : "waiting",
      checks: [{ name: "labelled_pairs", passed: false, value: n, limit: policy.minLabelled, detail: `${n} of ${policy.minLabelled} labelled shadow/production pairs${timedOut ? ` after the ${policy.timeoutMs} ms timeout` : ""}` }],
      evidence: { labelled_pairs: n },
    };
  }
  const diff = pairedBootstrapAuc(pairs, { resamples: policy.resamples, confidence: policy.confidence, seed });
  if (diff === undefined) {
    return {
      gate: "shadow",
      status: elapsedMs >= policy.timeoutMs ? "failed" : "waiting",
      checks: [{ name: "both_classes", passed: false, detail: `${n} labelled pairs but only one class` }],
      evidence: { labelled_pairs: n },
    };
  }
  const passed = diff.lower >= -policy.aucEpsilon;
  return {
    gate: "shadow",
    status: passed ? "passed" : "failed",
    checks: [
      {
        name: "auc_difference",
        passed,
        value: diff.lower,
        limit: -policy.aucEpsilon,
        detail: `paired bootstrap: challenger − champion AUC ${diff.difference.toFixed(4)}, ${Math.round(diff.confidence * 100)}% lower bound ${diff.lower.toFixed(4)} vs −ε ${-policy.aucEpsilon} over ${n} requests`,
      },
    ],
    evidence: { method: "paired bootstrap (percentile, one-sided)", ...diff },
  };
}

/** Labelled live metrics of one route over the canary period. */
export interface LiveMetrics {
  readonly labelled: number;
  readonly auc: number | undefined;
  readonly predictions: number;
  readonly degraded: number;
}

/**
 * Canary gate: on their own (unpaired) labelled traffic since the canary started, the canary's AUC
 * must be ≥ production's − max_auc_drop once both routes have `minLabelled` labels; fails on timeout.
 */
export function canaryGate(canary: LiveMetrics, production: LiveMetrics, policy: ModelPolicy["canary"], elapsedMs: number): GateResult {
  const enough = canary.labelled >= policy.minLabelled && production.labelled >= policy.minLabelled;
  const evidence = { canary, production, canary_percent: policy.percent };
  if (!enough || canary.auc === undefined || production.auc === undefined) {
    const timedOut = elapsedMs >= policy.timeoutMs;
    return {
      gate: "canary",
      status: timedOut ? "failed" : "waiting",
      checks: [
        {
          name: "labelled",
          passed: false,
          value: Math.min(canary.labelled, production.labelled),
          limit: policy.minLabelled,
          detail: `labelled canary ${canary.labelled}, production ${production.labelled} (needs ${policy.minLabelled} each, both classes)${timedOut ? `; timed out after ${policy.timeoutMs} ms` : ""}`,
        },
      ],
      evidence,
    };
  }
  const limit = production.auc - policy.maxAucDrop;
  const passed = canary.auc >= limit;
  return {
    gate: "canary",
    status: passed ? "passed" : "failed",
    checks: [{ name: "auc", passed, value: canary.auc, limit, detail: `canary AUC ${fmt(canary.auc)} vs production ${fmt(production.auc)} − ${policy.maxAucDrop}` }],
    evidence,
  };
}

/** What the rollback watch sees about the new champion. */
export interface WatchFacts {
  /** Live labelled AUC of the new champion from a drift report (undefined when absent). */
  readonly auc: number | undefined;
  readonly labelled: number;
  /** The previous champion's baseline AUC (its live AUC before the promotion, else its offline AUC). */
  readonly baselineAuc: number | undefined;
  /** Predictions served by the new champion since promotion, and how many were degraded. */
  readonly predictions: number;
  readonly degraded: number;
}

/** The watch verdict: roll back (with the reason), keep watching, or the window ended cleanly. */
export type WatchVerdict = { readonly action: "rollback"; readonly reason: string } | { readonly action: "watch" } | { readonly action: "confirmed" };

/**
 * Automatic rollback (Argo Rollouts/Flagger style analysis) while `elapsedMs` < watch: when the new
 * champion's labelled AUC (≥ min_labelled labels) falls below the previous champion's baseline by more
 * than δ, or its degraded-prediction share (defaults served for unavailable features) exceeds the bound.
 */
export function watchVerdict(facts: WatchFacts, policy: ModelPolicy["rollback"], elapsedMs: number): WatchVerdict {
  if (facts.auc !== undefined && facts.baselineAuc !== undefined && facts.labelled >= policy.minLabelled && facts.auc < facts.baselineAuc - policy.aucDrop) {
    return { action: "rollback", reason: `live AUC ${facts.auc.toFixed(4)} < previous champion's ${facts.baselineAuc.toFixed(4)} − δ ${policy.aucDrop} over ${facts.labelled} labels` };
  }
  if (facts.predictions >= policy.minPredictions && facts.degraded / facts.predictions > policy.maxDegradedShare) {
    return { action: "rollback", reason: `degraded share ${(facts.degraded / facts.predictions).toFixed(3)} > ${policy.maxDegradedShare} over ${facts.predictions} predictions` };
  }
  return elapsedMs >= policy.watchMs ? { action: "confirmed" } : { action: "watch" };
}
