import { parseDuration } from "@loopline/kit";

/** Retraining and rollout settings of one model (LOOPLINE_RETRAIN_POLICIES); every field has a default. */
export interface ModelPolicy {
  /** Drift policy: fire when drifted_share ≥ `driftedShare` for `consecutive` windows in a row. */
  readonly drift: { readonly enabled: boolean; readonly driftedShare: number; readonly consecutive: number };
  /** Decay policy: fire when labelled AUC (≥ minLabelled labels) is below `aucFloor`, or below the champion's offline AUC by `maxDrop`. */
  readonly decay: { readonly enabled: boolean; readonly aucFloor: number; readonly maxDrop: number; readonly minLabelled: number };
  /** Schedule policy: fire every `everyMs` (0 = off). */
  readonly schedule: { readonly everyMs: number };
  /** No new retrain sooner than this after the previous one started. */
  readonly cooldownMs: number;
  /** Training set: labelled production predictions of the last `lookbackMs`, sampled at `sampleRate`, at most `maxRows`. */
  readonly training: {
    readonly lookbackMs: number;
    readonly sampleRate: number;
    readonly maxRows: number;
    readonly holdoutFraction: number;
    readonly seed: number;
    /** "max_f1" or a fixed threshold. */
    readonly threshold: number | "max_f1";
    /** Inputs when the model has no champion yet (NUMBER, default 0); otherwise the champion's signature is reused. */
    readonly featureRefs: readonly string[];
  };
  /** Offline gate. */
  readonly offline: { readonly aucEpsilon: number; readonly minAuc: number; readonly maxCalibrationError: number; readonly latencyBudgetMs: number };
  /** Shadow gate: paired bootstrap of the AUC difference on shared requests. */
  readonly shadow: { readonly minLabelled: number; readonly confidence: number; readonly aucEpsilon: number; readonly resamples: number; readonly timeoutMs: number };
  /** Canary: share of entities, then canary vs production on their own labelled traffic. */
  readonly canary: { readonly percent: number; readonly minLabelled: number; readonly maxAucDrop: number; readonly timeoutMs: number };
  /** Automatic rollback while the new champion is watched. */
  readonly rollback: { readonly watchMs: number; readonly aucDrop: number; readonly minLabelled: number; readonly maxDegradedShare: number; readonly minPredictions: number };
}

/** The defaults every model starts from. */
export const DEFAULT_POLICY: ModelPolicy = {
  drift: { enabled: true, driftedShare: 0.5, consecutive: 3 },
  decay: { enabled: true, aucFloor: 0.6, maxDrop: 0.05, minLabelled: 200 },
  schedule: { everyMs: 0 },
  cooldownMs: 6 * 3_600_000,
  training: { lookbackMs: 7 * 86_400_000, sampleRate: 1, maxRows: 200_000, holdoutFraction: 0.25, seed: 42, threshold: 0.5, featureRefs: [] },
  offline: { aucEpsilon: 0.005, minAuc: 0.55, maxCalibrationError: 0.1, latencyBudgetMs: 5 },
  shadow: { minLabelled: 500, confidence: 0.95, aucEpsilon: 0.01, resamples: 1000, timeoutMs: 86_400_000 },
  canary: { percent: 10, minLabelled: 300, maxAucDrop: 0.03, timeoutMs: 86_400_000 },
  rollback: { watchMs: 3_600_000, aucDrop: 0.05, minLabelled: 200, maxDegradedShare: 0.2, minPredictions: 100 },
};

/** A policy file problem, naming the path at fault. */
export class PolicyConfigError extends Error {
  override name = "PolicyConfigError";
  readonly code = "INVALID_POLICY";
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Parses the policies JSON: `{"<model>": {…}, "*": {…}}` where "*" applies to every model; keys are
 * snake_case as in the README (durations as "10m"/"6h" strings or milliseconds). Unknown keys are
 * refused so a typo cannot silently leave a default in force.
 */
export function parsePolicies(text: string): Map<string, ModelPolicy> & { forModel(model: string): ModelPolicy } {
  let raw: unknown;
  try {
    raw = text.trim() === "" ? {} : JSON.parse(text);
  } catch (err) {
    throw new PolicyConfigError(`policies: not JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) throw new PolicyConfigError("policies: expected an object keyed by model name");
  const base = raw["*"] === undefined ? DEFAULT_POLICY : mergePolicy(DEFAULT_POLICY, raw["*"], "*");
  const map = new Map<string, ModelPolicy>();
  for (const [model, value] of Object.entries(raw)) if (model !== "*") map.set(model, mergePolicy(base, value, model));
  return Object.assign(map, { forModel: (model: string) => map.get(model) ?? base });
}

const SECTIONS: Record<string, Record<string, "number" | "share" | "count" | "duration" | "bool" | "threshold" | "refs">> = {
  drift: { enabled: "bool", drifted_share: "share", consecutive: "count" },
  decay: { enabled: "bool", auc_floor: "share", max_drop: "share", min_labelled: "count" },
  schedule: { every: "duration" },
  training: { lookback: "duration", sample_rate: "share", max_rows: "count", holdout_fraction: "share", seed: "count", threshold: "threshold", feature_refs: "refs" },
  offline: { auc_epsilon: "share", min_auc: "share", max_calibration_error: "share", latency_budget_ms: "number" },
  shadow: { min_labelled: "count", confidence: "share", auc_epsilon: "share", resamples: "count", timeout: "duration" },
  canary: { percent: "number", min_labelled: "count", max_auc_drop: "share", timeout: "duration" },
  rollback: { watch: "duration", auc_drop: "share", min_labelled: "count", max_degraded_share: "share", min_predictions: "count" },
};

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function parseValue(kind: string, value: unknown, path: string): unknown {
  const bad = (why: string): never => {
    throw new PolicyConfigError(`${path}: ${why}`);
  };
  switch (kind) {
    case "bool":
      return typeof value === "boolean" ? value : bad("expected true or false");
    case "number":
      return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : bad("expected a non-negative number");
    case "share":
      return typeof value === "number" && value >= 0 && value <= 1 ? value : bad("expected a number in [0, 1]");
    case "count":
      return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : bad("expected a non-negative integer");
    case "duration": {
      if (typeof value === "number" && value >= 0) return value;
      const ms = typeof value === "string" ? parseDuration(value) : undefined;
      return ms ?? bad('expected a duration such as "10m" or milliseconds');
    }
    case "threshold":
      return value === "max_f1" || (typeof value === "number" && value >= 0 && value <= 1) ? value : bad('expected "max_f1" or a number in [0, 1]');
    case "refs":
      return Array.isArray(value) && value.every((v) => typeof v === "string" && v !== "") ? value : bad("expected an array of feature refs");
    default:
      return bad("unknown kind");
  }
}

function mergePolicy(base: ModelPolicy, raw: unknown, model: string): ModelPolicy {
  if (!isObject(raw)) throw new PolicyConfigError(`policies.${model}: expected an object`);
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(raw)) {
    const path = `policies.${model}.${key}`;
    if (key === "cooldown") {
      out["cooldownMs"] = parseValue("duration", value, path);
      continue;
    }
    const fields = SECTIONS[key];
    if (fields === undefined) throw new PolicyConfigError(`${path}: unknown setting (expected one of cooldown, ${Object.keys(SECTIONS).join(", ")})`);
    if (!isObject(value)) throw new PolicyConfigError(`${path}: expected an object`);
    const section: Record<string, unknown> = { ...(base[key as keyof ModelPolicy] as object) };
    for (const [field, v] of Object.entries(value)) {
      const kind = fields[field];
      if (kind === undefined) throw new PolicyConfigError(`${path}.${field}: unknown setting (expected one of ${Object.keys(fields).join(", ")})`);
      const name = kind === "duration" ? `${camel(field)}Ms` : camel(field);
      section[name] = parseValue(kind, v, `${path}.${field}`);
    }
    out[key] = section;
  }
  const policy = out as unknown as ModelPolicy;
  if (policy.canary.percent <= 0 || policy.canary.percent > 100) throw new PolicyConfigError(`policies.${model}.canary.percent: must be in (0, 100]`);
  if (policy.training.holdoutFraction <= 0 || policy.training.holdoutFraction >= 1) throw new PolicyConfigError(`policies.${model}.training.holdout_fraction: must be in (0, 1)`);
  return policy;
}
