// Evidently's default stattest choice and thresholds (legacy stattests, as used by DataDriftPreset).
import type { ColumnKind } from "./binning.js";

/** Drift methods, named as Evidently names its stattests. */
export type DriftMethod = "ks" | "wasserstein" | "psi" | "kl_div" | "jensenshannon" | "hellinger" | "chisquare" | "z";

/** How a method's score is read against its threshold. */
export interface DriftMethodInfo {
  /** Evidently's default threshold. */
  readonly defaultThreshold: number;
  /** "p-value": drift when the p-value is below the threshold; "distance": drift when at or above it. */
  readonly score: "p-value" | "distance";
  /** Whether a p-value equal to the threshold counts as drift (true only for KS, as in Evidently). */
  readonly inclusive: boolean;
  /** Column kinds Evidently allows the method for. */
  readonly kinds: readonly ColumnKind[];
}

/** Every method with its default threshold and decision rule. */
export const DRIFT_METHODS: Readonly<Record<DriftMethod, DriftMethodInfo>> = {
  ks: { defaultThreshold: 0.05, score: "p-value", inclusive: true, kinds: ["numerical"] },
  chisquare: { defaultThreshold: 0.05, score: "p-value", inclusive: false, kinds: ["categorical", "numerical"] },
  z: { defaultThreshold: 0.05, score: "p-value", inclusive: false, kinds: ["categorical", "numerical"] },
  wasserstein: { defaultThreshold: 0.1, score: "distance", inclusive: true, kinds: ["numerical"] },
  psi: { defaultThreshold: 0.1, score: "distance", inclusive: true, kinds: ["categorical", "numerical"] },
  kl_div: { defaultThreshold: 0.1, score: "distance", inclusive: true, kinds: ["categorical", "numerical"] },
  jensenshannon: { defaultThreshold: 0.1, score: "distance", inclusive: true, kinds: ["categorical", "numerical"] },
  hellinger: { defaultThreshold: 0.1, score: "distance", inclusive: true, kinds: ["categorical", "numerical"] },
};

/** Evidently's reference-size boundary between the small-sample tests and the distances. */
export const SMALL_REFERENCE_MAX = 1000;

/** Evidently's default share of drifted columns at which the whole dataset counts as drifted. */
export const DEFAULT_DRIFT_SHARE = 0.5;

/**
 * Evidently's default method for a column: `referenceSize` counts non-missing reference values and
 * `uniqueCount` the distinct non-missing values of reference and current together.
 */
export function defaultMethod(kind: ColumnKind, referenceSize: number, uniqueCount: number): DriftMethod {
  if (referenceSize <= SMALL_REFERENCE_MAX) {
    if (kind === "numerical" && uniqueCount > 5) return "ks";
    return uniqueCount > 2 ? "chisquare" : "z";
  }
  if (kind === "numerical" && uniqueCount > 5) return "wasserstein";
  return "jensenshannon";
}

/** Evidently's drift decision for a method's score (p-value or distance) against a threshold. */
export function isDrifted(method: DriftMethod, score: number, threshold: number): boolean {
  const info = DRIFT_METHODS[method];
  if (info.score === "distance") return score >= threshold;
  return info.inclusive ? score <= threshold : score < threshold;
}

/** Share of drifted columns and Evidently's dataset-drift flag (share >= driftShare). */
export function datasetDrift(
  drifted: readonly boolean[],
  driftShare: number = DEFAULT_DRIFT_SHARE,
): { readonly driftedColumns: number; readonly share: number; readonly datasetDrift: boolean } {
  const driftedColumns = drifted.filter(Boolean).length;
  const share = drifted.length === 0 ? 0 : driftedColumns / drifted.length;
  return { driftedColumns, share, datasetDrift: drifted.length > 0 && share >= driftShare };
}
