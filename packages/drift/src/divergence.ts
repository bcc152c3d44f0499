// The share-based divergences Evidently offers: PSI, Kullback–Leibler (scipy.stats.entropy) and
// Jensen–Shannon (scipy.spatial.distance.jensenshannon, natural log). Each takes bin shares from
// binnedShares(); PSI and KL apply Evidently's zero fill themselves, Jensen–Shannon works on raw shares.
import { binnedShares, fillZeroShares, type ColumnKind, type Sample } from "./binning.js";

/** scipy.special.rel_entr(x, y). */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

function total(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

/** PSI = sum (r - c) ln(r / c) over zero-filled shares. */
export function psiFromShares(reference: Float64Array, current: Float64Array): number {
  const r = fillZeroShares(reference);
  const c = fillZeroShares(current);
  let sum = 0;
  for (let i = 0; i < r.length; i++) sum += (r[i]! - c[i]!) * Math.log(r[i]! / c[i]!);
  return sum;
}

/** KL(r || c) of zero-filled shares, each renormalised to sum 1 as scipy.stats.entropy does. */
export function klFromShares(reference: Float64Array, current: Float64Array): number {
  const r = fillZeroShares(reference);
  const c = fillZeroShares(current);
  const rs = total(r);
  const cs = total(c);
  let sum = 0;
  for (let i = 0; i < r.length; i++) sum += relEntr(r[i]! / rs, c[i]! / cs);
  return sum;
}

/** Jensen–Shannon distance (square root of the divergence, natural log) of raw shares. */
export function jensenShannonFromShares(reference: Float64Array, current: Float64Array): number {
  const ps = total(reference);
  const qs = total(current);
  let left = 0;
  let right = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i]! / ps;
    const q = current[i]! / qs;
    const m = (p + q) / 2;
    left += relEntr(p, m);
    right += relEntr(q, m);
  }
  return Math.sqrt((left + right) / 2);
}

/** Population Stability Index of two samples, binned as Evidently does. */
export function psi(reference: Sample, current: Sample, kind: ColumnKind): number {
  const s = binnedShares(reference, current, kind);
  return psiFromShares(s.reference, s.current);
}

/** Kullback–Leibler divergence KL(reference || current), binned as Evidently does. */
export function kl(reference: Sample, current: Sample, kind: ColumnKind): number {
  const s = binnedShares(reference, current, kind);
  return klFromShares(s.reference, s.current);
}

/** Jensen–Shannon distance of two samples, binned as Evidently does (no zero fill). */
export function jensenShannon(reference: Sample, current: Sample, kind: ColumnKind): number {
  const s = binnedShares(reference, current, kind);
  return jensenShannonFromShares(s.reference, s.current);
}
