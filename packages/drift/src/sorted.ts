/** A sorted Float64Array copy of the input (ascending; inputs are finite numbers). */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values);
  out.sort();
  return out;
}

/** Number of elements of sorted `a` that are < x (side "left") or <= x (side "right"), as numpy.searchsorted. */
export function searchSorted(a: ArrayLike<number>, x: number, side: "left" | "right"): number {
  let lo = 0;
  let hi = a.length;
  if (side === "left") {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
  } else {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
  }
  return lo;
}

/** Population standard deviation (numpy.std with ddof=0), two-pass with compensated sums. */
export function populationStd(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  let sum = 0;
  let carry = 0;
  for (let i = 0; i < n; i++) {
    const y = values[i]! - carry;
    const t = sum + y;
    carry = t - sum - y;
    sum = t;
  }
  const mean = sum / n;
  let sq = 0;
  carry = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    const y = d * d - carry;
    const t = sq + y;
    carry = t - sq - y;
    sq = t;
  }
  return Math.sqrt(sq / n);
}
