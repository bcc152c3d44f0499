import { valueCounts, type Sample } from "./binning.js";
import { DriftError } from "./errors.js";
import { normalCdf } from "./normal.js";

/** Two-proportion z-test result. */
export interface ZTestResult {
  /** (p_ref - p_cur) / sqrt(P (1 - P) (1/n_ref + 1/n_cur)); 0 when both samples hold the same single value. */
  readonly statistic: number;
  /** Two-sided p-value 2 (1 - Φ(|z|)). */
  readonly pValue: number;
}

/** Python's ordering of the keys Evidently sorts: numbers numerically, strings by code point. */
function compareKeys(a: number | string, b: number | string): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const sa = String(a);
  const sb = String(b);
  const ca = Array.from(sa);
  const cb = Array.from(sb);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = ca[i]!.codePointAt(0)! - cb[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

/**
 * Evidently's z-test from counts: the proportion of values different from the first sorted key, compared
 * between the samples. Both samples constant at the same value gives p = 1.
 */
export function zTestFromCounts<K extends number | string>(
  reference: ReadonlyMap<K, number>,
  referenceSize: number,
  current: ReadonlyMap<K, number>,
  currentSize: number,
): ZTestResult {
  if (reference.size === 1 && current.size === 1 && reference.keys().next().value === current.keys().next().value) {
    return { statistic: 0, pValue: 1 };
  }
  const keys = new Set<K>(reference.keys());
  for (const k of current.keys()) keys.add(k);
  const first = [...keys].sort(compareKeys)[0]!;
  const n1 = referenceSize;
  const n2 = currentSize;
  const p1 = (n1 - (reference.get(first) ?? 0)) / n1;
  const p2 = (n2 - (current.get(first) ?? 0)) / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return { statistic: z, pValue: 2 * (1 - normalCdf(Math.abs(z))) };
}

/** Evidently's two-proportion z-test of two samples (p-value drifts when < threshold). */
export function zTestProportions(reference: Sample, current: Sample): ZTestResult {
  if (reference.length === 0 || current.length === 0) {
    throw new DriftError("EMPTY_SAMPLE", "z-test needs two non-empty samples");
  }
  const r = valueCounts(reference as ArrayLike<number | string>);
  const c = valueCounts(current as ArrayLike<number | string>);
  return zTestFromCounts(r, reference.length, c, current.length);
}
