import { DriftError } from "./errors.js";
import { populationStd, sortedCopy } from "./sorted.js";

/** Evidently's floor on the reference standard deviation used to norm the Wasserstein distance. */
export const WASSERSTEIN_MIN_NORM = 0.001;

/** First Wasserstein distance of two sorted samples: the integral of |F_u - F_v| (scipy's _cdf_distance, p=1). */
export function wassersteinSorted(u: Float64Array, v: Float64Array): number {
  const nu = u.length;
  const nv = v.length;
  let i = 0;
  let j = 0;
  let sum = 0;
  let carry = 0;
  let prev = Math.min(u[0]!, v[0]!);
  while (i < nu || j < nv) {
    const x = i < nu && (j >= nv || u[i]! <= v[j]!) ? u[i]! : v[j]!;
    // The ECDFs are constant on [prev, x): add |F_u - F_v| times the width.
    const term = Math.abs(i / nu - j / nv) * (x - prev);
    const y = term - carry;
    const t = sum + y;
    carry = t - sum - y;
    sum = t;
    while (i < nu && u[i]! <= x) i++;
    while (j < nv && v[j]! <= x) j++;
    prev = x;
  }
  return sum;
}

/** scipy.stats.wasserstein_distance(u, v) for unweighted samples. */
export function wassersteinDistance(u: ArrayLike<number>, v: ArrayLike<number>): number {
  if (u.length === 0 || v.length === 0) {
    throw new DriftError("EMPTY_SAMPLE", "wasserstein distance needs two non-empty samples");
  }
  return wassersteinSorted(sortedCopy(u), sortedCopy(v));
}

/** Evidently's "wasserstein" drift score: W1(reference, current) / max(std_pop(reference), 0.001). */
export function wassersteinNormed(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const norm = Math.max(populationStd(reference), WASSERSTEIN_MIN_NORM);
  return wassersteinDistance(reference, current) / norm;
}
