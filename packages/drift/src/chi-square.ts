import { valueCounts, type Sample } from "./binning.js";
import { DriftError } from "./errors.js";
import { chiSquareSurvival } from "./gamma.js";

/** Pearson chi-square goodness-of-fit result. */
export interface ChiSquareResult {
  /** sum (observed - expected)^2 / expected; Infinity when a current category is absent from the reference. */
  readonly statistic: number;
  /** Survival function of chi-square with (categories - 1) degrees of freedom; 0 for an infinite statistic. */
  readonly pValue: number;
  /** Degrees of freedom used. */
  readonly dof: number;
}

/**
 * Evidently's chi-square test from counts: observed = current counts, expected = reference counts scaled by
 * n_current / n_reference, over the union of categories (scipy.stats.chisquare(f_obs, f_exp)).
 */
export function chiSquareFromCounts<K>(
  reference: ReadonlyMap<K, number>,
  referenceSize: number,
  current: ReadonlyMap<K, number>,
  currentSize: number,
): ChiSquareResult {
  const keys = new Set<K>(reference.keys());
  for (const k of current.keys()) keys.add(k);
  const scale = currentSize / referenceSize;
  let statistic = 0;
  for (const k of keys) {
    const expected = (reference.get(k) ?? 0) * scale;
    const observed = current.get(k) ?? 0;
    statistic += (observed - expected) ** 2 / expected;
  }
  const dof = keys.size - 1;
  return { statistic, pValue: dof > 0 ? chiSquareSurvival(statistic, dof) : Number.NaN, dof };
}

/** Evidently's chi-square drift test of two samples (p-value drifts when < threshold). */
export function chiSquare(reference: Sample, current: Sample): ChiSquareResult {
  if (reference.length === 0 || current.length === 0) {
    throw new DriftError("EMPTY_SAMPLE", "chi-square needs two non-empty samples");
  }
  const r = valueCounts(reference as ArrayLike<number | string>);
  const c = valueCounts(current as ArrayLike<number | string>);
  return chiSquareFromCounts(r, reference.length, c, current.length);
}
