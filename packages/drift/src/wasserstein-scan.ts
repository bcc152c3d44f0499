// Hot path of the default large-reference report (guarded by bench/drift.bench.ts): Wasserstein distance of
// an unsorted current sample against a reference profile, without sorting the current sample and with a
// working set small enough to stay in cache.
//
// The range [r_0, r_max) of the distinct reference values is cut into at most CELLS cells whose edges are
// reference values (a uniform grid over the range, each grid cell snapped to the first reference value in
// it). One pass gives every current value its cell and accumulates per-cell counts and offsets. In a cell
// where F_ref - F_cur cannot change sign (F_ref's range and F_cur's range do not overlap), the integral of
// |F_ref - F_cur| is |∫F_ref - ∫F_cur|: ∫F_ref is precomputed per cell, ∫F_cur is linear in the offsets.
// Only cells where the ranges overlap are integrated exactly from their sorted values. Values below r_0
// or at/above r_max contribute their distance to that edge.
import type { NumericalColumnProfile } from "./profile.js";

const CELLS = 16384;

interface CellIndex {
  readonly m: number;
  readonly size: number;
  readonly values: Float64Array;
  readonly cum: Float64Array;
  readonly cells: number;
  readonly origin: number;
  readonly scale: number;
  /** Left edge (a reference value) of each grid cell's snapped cell; +Infinity when the grid cell holds none. */
  readonly left: Float64Array;
  /** Cell holding values just below `left[g]` (the previous non-empty cell). */
  readonly previous: Int32Array;
  /** First and one-past-last distinct reference index of each cell. */
  readonly kLo: Int32Array;
  readonly kHi: Int32Array;
  /** F_ref at the cell's left edge, just before its right edge, and its integral over the cell. */
  readonly frLo: Float64Array;
  readonly frHi: Float64Array;
  readonly frIntegral: Float64Array;
  readonly width: Float64Array;
}

const cache = new WeakMap<NumericalColumnProfile, CellIndex>();

function gridCell(v: number, origin: number, scale: number, cells: number): number {
  const c = Math.floor((v - origin) * scale);
  return c < cells ? c : cells - 1;
}

function cellIndex(profile: NumericalColumnProfile): CellIndex {
  const hit = cache.get(profile);
  if (hit !== undefined) return hit;
  const { values, counts, size } = profile;
  const m = values.length;
  const cum = new Float64Array(m);
  let acc = 0;
  for (let k = 0; k < m; k++) cum[k] = acc += counts[k]!;
  // Cells partition [values[0], values[m-1]) and hold the reference values 0..m-2.
  const inner = Math.max(m - 1, 0);
  const cells = Math.max(1, Math.min(inner, CELLS));
  const origin = values[0]!;
  const span = values[m - 1]! - origin;
  const scale = span > 0 ? cells / span : 0;
  const start = new Int32Array(cells + 1);
  let k = 0;
  for (let c = 0; c <= cells; c++) {
    while (k < inner && gridCell(values[k]!, origin, scale, cells) < c) k++;
    start[c] = k;
  }
  start[cells] = inner;
  const left = new Float64Array(cells).fill(Infinity);
  const previous = new Int32Array(cells).fill(-1);
  const kLo = new Int32Array(cells);
  const kHi = new Int32Array(cells);
  const frLo = new Float64Array(cells);
  const frHi = new Float64Array(cells);
  const frIntegral = new Float64Array(cells);
  const width = new Float64Array(cells);
  let lastNonEmpty = -1;
  for (let c = 0; c < cells; c++) {
    previous[c] = lastNonEmpty;
    const lo = start[c]!;
    const hi = start[c + 1]!;
    if (lo === hi) continue;
    lastNonEmpty = c;
    left[c] = values[lo]!;
    kLo[c] = lo;
    kHi[c] = hi;
    frLo[c] = cum[lo]! / size;
    frHi[c] = cum[hi - 1]! / size;
    width[c] = values[hi]! - values[lo]!;
    let s = 0;
    let carry = 0;
    for (let j = lo; j < hi; j++) {
      const y = (cum[j]! / size) * (values[j + 1]! - values[j]!) - carry;
      const t = s + y;
      carry = t - s - y;
      s = t;
    }
    frIntegral[c] = s;
  }
  const index = { m, size, values, cum, cells, origin, scale, left, previous, kLo, kHi, frLo, frHi, frIntegral, width };
  cache.set(profile, index);
  return index;
}

let count = new Int32Array(0);
let offset = new Float64Array(0);
let cellOfValue = new Int32Array(0);

/** scipy.stats.wasserstein_distance(reference, current[0..size)) for a non-empty reference column. */
export function wassersteinAgainstReference(profile: NumericalColumnProfile, current: Float64Array, size: number): number {
  const ix = cellIndex(profile);
  const { values, cum, cells, origin, scale, left, previous } = ix;
  const nRef = ix.size;
  const nCur = size;
  const first = values[0]!;
  const last = values[ix.m - 1]!;
  if (count.length < cells) {
    count = new Int32Array(cells);
    offset = new Float64Array(cells);
  } else {
    count.fill(0, 0, cells);
    offset.fill(0, 0, cells);
  }
  if (cellOfValue.length < nCur) cellOfValue = new Int32Array(Math.max(nCur, cellOfValue.length * 2));
  const cnt = count;
  const off = offset;
  const cellOf = cellOfValue;

  let below = 0;
  let belowSum = 0;
  let aboveSum = 0;
  for (let i = 0; i < nCur; i++) {
    const v = current[i]!;
    if (v < first) {
      below++;
      belowSum += first - v;
      cellOf[i] = -1;
    } else if (v >= last) {
      aboveSum += v - last;
      cellOf[i] = -1;
    } else {
      let c = Math.floor((v - origin) * scale);
      if (c >= cells) c = cells - 1;
      if (v < left[c]!) c = previous[c]!;
      cnt[c] = cnt[c]! + 1;
      off[c] = off[c]! + (v - left[c]!);
      cellOf[i] = c;
    }
  }

  let w = belowSum / nCur + aboveSum / nCur;
  let carry = 0;
  let before = below;
  const crossing: number[] = [];
  const crossingBefore: number[] = [];
  const { frLo, frHi, frIntegral, width } = ix;
  for (let c = 0; c < cells; c++) {
    const k = cnt[c]!;
    if (left[c] === Infinity) continue;
    const fcLo = before / nCur;
    const fcHi = (before + k) / nCur;
    let term: number;
    if (frLo[c]! >= fcHi) {
      // ∫F_cur over [L, R) = (before * W + sum(R - v)) / n = ((before + k) W - sum(v - L)) / n
      term = frIntegral[c]! - ((before + k) * width[c]! - off[c]!) / nCur;
    } else if (frHi[c]! <= fcLo) {
      term = ((before + k) * width[c]! - off[c]!) / nCur - frIntegral[c]!;
    } else {
      crossing.push(c);
      crossingBefore.push(before);
      term = 0;
    }
    const y = term - carry;
    const t = w + y;
    carry = t - w - y;
    w = t;
    before += k;
  }

  if (crossing.length > 0) {
    const slots = new Int32Array(cells).fill(-1);
    const offsets = new Int32Array(crossing.length + 1);
    for (let s = 0; s < crossing.length; s++) {
      slots[crossing[s]!] = s;
      offsets[s + 1] = offsets[s]! + cnt[crossing[s]!]!;
    }
    const fill = offsets.slice(0, crossing.length);
    const gathered = new Float64Array(offsets[crossing.length]!);
    for (let i = 0; i < nCur; i++) {
      const c = cellOf[i]!;
      if (c >= 0) {
        const s = slots[c]!;
        if (s >= 0) gathered[fill[s]!++] = current[i]!;
      }
    }
    const { kLo, kHi } = ix;
    for (let s = 0; s < crossing.length; s++) {
      const c = crossing[s]!;
      const seg = gathered.subarray(offsets[s]!, offsets[s + 1]!);
      seg.sort();
      // Exact merge of the cell's reference steps and sorted current values over [L, R).
      let p = kLo[c]! + 1;
      const pEnd = kHi[c]!;
      const right = values[pEnd]!;
      let fr = cum[kLo[c]!]! / nRef;
      let fc = crossingBefore[s]!;
      let q = 0;
      let prev = values[kLo[c]!]!;
      while (true) {
        const nextRef = p < pEnd ? values[p]! : right;
        const nextCur = q < seg.length ? seg[q]! : Infinity;
        const x = nextRef < nextCur ? nextRef : nextCur;
        if (x >= right) break;
        const y = Math.abs(fr - fc / nCur) * (x - prev) - carry;
        const t = w + y;
        carry = t - w - y;
        w = t;
        prev = x;
        if (p < pEnd && values[p] === x) fr = cum[p++]! / nRef;
        while (q < seg.length && seg[q]! <= x) {
          fc++;
          q++;
        }
      }
      const y = Math.abs(fr - fc / nCur) * (right - prev) - carry;
      const t = w + y;
      carry = t - w - y;
      w = t;
    }
  }
  return w;
}
