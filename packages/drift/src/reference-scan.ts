// Hot path of the drift report (guarded by bench/drift.bench.ts): KS statistic and Wasserstein distance of an
// unsorted current sample against a reference profile without sorting the current sample.
//
// The distinct reference values r_0 < ... < r_{m-1} cut the line into buckets [r_{b-1}, r_b) on which the
// reference ECDF is constant. One pass puts every current value into its bucket (a uniform grid over the
// reference range narrows the binary search to a handful of values) and accumulates per-bucket counts, ties
// with r_{b-1}, and offset sums. Inside a bucket where F_ref - F_cur keeps its sign, the integral of
// |F_ref - F_cur| is linear in those sums; only buckets where the sign flips need their values sorted,
// and those hold a few values each. KS's sup is attained at a bucket's left end or at its largest value.
import type { NumericalColumnProfile } from "./profile.js";

/** Reference-side lookup structure, built once per profile column and cached. */
interface ReferenceIndex {
  readonly values: Float64Array;
  /** cum[k] = number of reference values <= values[k]. */
  readonly cum: Float64Array;
  readonly size: number;
  /** grid[c] = first k whose value falls in grid cell >= c; length cells + 1. */
  readonly grid: Int32Array;
  readonly cells: number;
  readonly origin: number;
  readonly scale: number;
}

const indexCache = new WeakMap<NumericalColumnProfile, ReferenceIndex>();

function cellOf(v: number, origin: number, scale: number, cells: number): number {
  const c = Math.floor((v - origin) * scale);
  return c < cells ? c : cells - 1;
}

function referenceIndex(profile: NumericalColumnProfile): ReferenceIndex {
  const cached = indexCache.get(profile);
  if (cached !== undefined) return cached;
  const { values, counts, size } = profile;
  const m = values.length;
  const cum = new Float64Array(m);
  let acc = 0;
  for (let k = 0; k < m; k++) cum[k] = acc += counts[k]!;
  const cells = Math.max(1, m);
  const origin = values[0]!;
  const span = values[m - 1]! - origin;
  const scale = span > 0 ? cells / span : 0;
  const grid = new Int32Array(cells + 1);
  let k = 0;
  for (let c = 0; c <= cells; c++) {
    while (k < m && cellOf(values[k]!, origin, scale, cells) < c) k++;
    grid[c] = k;
  }
  const index = { values, cum, size, grid, cells, origin, scale };
  indexCache.set(profile, index);
  return index;
}

/** KS statistic and Wasserstein distance of a current sample against a reference column. */
export interface ReferenceScan {
  /** sup |F_ref - F_cur| over the pooled sample, as scipy.stats.ks_2samp computes it. */
  readonly ksStatistic: number;
  /** scipy.stats.wasserstein_distance(reference, current). */
  readonly wasserstein: number;
}

// Scratch buffers reused across columns and reports: the scan allocates nothing in steady state.
let scratchCapacity = 0;
let bucketCount = new Int32Array(0);
let bucketTies = new Int32Array(0);
let sumLo = new Float64Array(0);
let sumHi = new Float64Array(0);
let slotOf = new Int32Array(0);
let bucketOfValue = new Int32Array(0);

function ensureScratch(buckets: number, n: number): void {
  if (buckets > scratchCapacity) {
    scratchCapacity = buckets;
    bucketCount = new Int32Array(buckets);
    bucketTies = new Int32Array(buckets);
    sumLo = new Float64Array(buckets);
    sumHi = new Float64Array(buckets);
    slotOf = new Int32Array(buckets);
  } else {
    bucketCount.fill(0, 0, buckets);
    bucketTies.fill(0, 0, buckets);
    sumLo.fill(0, 0, buckets);
    sumHi.fill(0, 0, buckets);
  }
  if (bucketOfValue.length < n) bucketOfValue = new Int32Array(Math.max(n, bucketOfValue.length * 2));
}

function addTo(acc: Float64Array, term: number): void {
  const y = term - acc[1]!;
  const t = acc[0]! + y;
  acc[1] = t - acc[0]! - y;
  acc[0] = t;
}

/** Scans `current[0..size)` (finite, any order) against a non-empty reference column. */
export function scanAgainstReference(profile: NumericalColumnProfile, current: Float64Array, size: number): ReferenceScan {
  const ix = referenceIndex(profile);
  const { values, cum, grid, cells, origin, scale } = ix;
  const m = values.length;
  const nRef = ix.size;
  const nCur = size;
  const first = values[0]!;
  const last = values[m - 1]!;
  ensureScratch(m + 1, nCur);

  // Pass 1: bucket of each value = number of distinct reference values <= v.
  for (let i = 0; i < nCur; i++) {
    const v = current[i]!;
    let b: number;
    if (v < first) {
      b = 0;
      sumHi[0] = sumHi[0]! + (first - v);
    } else if (v >= last) {
      b = m;
      const off = v - last;
      sumLo[m] = sumLo[m]! + off;
      if (off === 0) bucketTies[m] = bucketTies[m]! + 1;
    } else {
      const c = cellOf(v, origin, scale, cells);
      let lo = grid[c]!;
      let hi = grid[c + 1]!;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (values[mid]! <= v) lo = mid + 1;
        else hi = mid;
      }
      b = lo;
      const left = values[b - 1]!;
      const off = v - left;
      sumLo[b] = sumLo[b]! + off;
      sumHi[b] = sumHi[b]! + (values[b]! - v);
      if (off === 0) bucketTies[b] = bucketTies[b]! + 1;
    }
    bucketCount[b] = bucketCount[b]! + 1;
    bucketOfValue[i] = b;
  }

  // Pass 2 over buckets: KS extremes, and the Wasserstein integral where the sign of F_ref - F_cur is fixed.
  let maxS = 0;
  let minS = 0;
  // Compensated sum of the integral; a plain function (not a closure) keeps the loop free of context writes.
  const acc = new Float64Array(2);
  const crossing: number[] = [];
  const crossingBefore: number[] = [];
  let before = bucketCount[0]!;
  if (before > 0) {
    minS = 0 / nRef - before / nCur;
    addTo(acc, sumHi[0]! / nCur);
  }
  for (let b = 1; b <= m; b++) {
    const c = bucketCount[b]!;
    const t = bucketTies[b]!;
    const a = cum[b - 1]! / nRef;
    const d1 = a - (before + t) / nCur;
    if (d1 > maxS) maxS = d1;
    if (d1 < minS) minS = d1;
    if (c > t) {
      const d2 = a - (before + c) / nCur;
      if (d2 < minS) minS = d2;
    }
    if (b === m) {
      addTo(acc, sumLo[m]! / nCur);
    } else {
      const width = values[b]! - values[b - 1]!;
      const g1 = a - (before + c) / nCur;
      const g0 = a - before / nCur;
      if (g1 >= 0) addTo(acc, g1 * width + sumLo[b]! / nCur);
      else if (g0 <= 0) addTo(acc, -g0 * width + sumHi[b]! / nCur);
      else {
        crossing.push(b);
        crossingBefore.push(before);
      }
    }
    before += c;
  }

  // Pass 3: buckets where the ECDFs cross are integrated piece by piece from their sorted values.
  if (crossing.length > 0) {
    let total = 0;
    for (let s = 0; s < crossing.length; s++) {
      slotOf[crossing[s]!] = s;
      total += bucketCount[crossing[s]!]!;
    }
    const offsets = new Int32Array(crossing.length + 1);
    for (let s = 0; s < crossing.length; s++) offsets[s + 1] = offsets[s]! + bucketCount[crossing[s]!]!;
    const fill = offsets.slice(0, crossing.length);
    const gathered = new Float64Array(total);
    const isCrossing = new Uint8Array(m + 1);
    for (const b of crossing) isCrossing[b] = 1;
    for (let i = 0; i < nCur; i++) {
      const b = bucketOfValue[i]!;
      if (isCrossing[b] === 1) {
        const s = slotOf[b]!;
        gathered[fill[s]!] = current[i]!;
        fill[s] = fill[s]! + 1;
      }
    }
    for (let s = 0; s < crossing.length; s++) {
      const b = crossing[s]!;
      const seg = gathered.subarray(offsets[s]!, offsets[s + 1]!);
      seg.sort();
      const a = cum[b - 1]! / nRef;
      let f = crossingBefore[s]!;
      let prev = values[b - 1]!;
      for (let k = 0; k < seg.length; k++) {
        const x = seg[k]!;
        addTo(acc, Math.abs(a - f / nCur) * (x - prev));
        f++;
        prev = x;
      }
      addTo(acc, Math.abs(a - f / nCur) * (values[b]! - prev));
    }
  }

  const neg = Math.min(Math.max(-minS, 0), 1);
  return { ksStatistic: neg > maxS ? neg : maxS, wasserstein: acc[0]! };
}
