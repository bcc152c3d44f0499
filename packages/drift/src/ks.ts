import { DriftError } from "./errors.js";
import { kolmogorovSurvival } from "./kolmogorov.js";
import { sortedCopy } from "./sorted.js";

/** Above this sample size scipy's ks_2samp(method="auto") switches from the exact to the asymptotic p-value. */
export const KS_MAX_EXACT_N = 10000;

/** Result of the two-sided two-sample Kolmogorov–Smirnov test. */
export interface KsResult {
  /** sup |F_ref - F_cur| (in exact mode rounded to h / lcm(n1, n2) as scipy does). */
  readonly statistic: number;
  /** Two-sided p-value. */
  readonly pValue: number;
  /** Which p-value scipy's "auto" mode would compute. */
  readonly mode: "exact" | "asymp";
}

/** numpy's round(): half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Pr(D_{n,n} >= h/n) for equal sample sizes, by the Horner-like alternating sum scipy uses. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * Share of lattice paths from (0,0) to (m,n) that leave the band |x/m - y/n| < h/lcm(m,n): the exact
 * two-sided p-value for unequal sizes (Hodges' inside method, recursion for 1 - p after Viehmann 2021).
 */
function probOutsideBand(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  for (let j = minj; j < maxj; j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1]!;
}

/**
 * p-value of the two-sided two-sample KS test for statistic d with sample sizes n1, n2, choosing exact or
 * asymptotic exactly as scipy.stats.ks_2samp(method="auto") does (including its fallback to asymptotic).
 */
export function ksPValue(d: number, n1: number, n2: number): KsResult {
  if (n1 < 1 || n2 < 1) throw new DriftError("EMPTY_SAMPLE", "ks2samp needs two non-empty samples");
  if (Math.max(n1, n2) <= KS_MAX_EXACT_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    const dExact = h / lcm;
    if (h === 0) return { statistic: dExact, pValue: 1, mode: "exact" };
    const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
    if (Number.isFinite(p) && p >= 0 && p <= 1) return { statistic: dExact, pValue: p, mode: "exact" };
    d = dExact;
  }
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  const p = kolmogorovSurvival(roundHalfEven(en), d);
  return { statistic: d, pValue: Math.min(Math.max(p, 0), 1), mode: "asymp" };
}

/** sup |F1 - F2| over the pooled sample of two sorted arrays, as scipy computes it (i/n1 - j/n2 in floats). */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxS = 0;
  let minS = 0;
  // Every pooled point is a step: evaluate right-continuous ECDFs after consuming all copies of it.
  while (i < n1 || j < n2) {
    const x = i < n1 && (j >= n2 || a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < n1 && a[i]! <= x) i++;
    while (j < n2 && b[j]! <= x) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  const neg = Math.min(Math.max(-minS, 0), 1);
  return neg > maxS ? neg : maxS;
}

/** Two-sided two-sample Kolmogorov–Smirnov test, equal to scipy.stats.ks_2samp(reference, current). */
export function ks2samp(reference: ArrayLike<number>, current: ArrayLike<number>): KsResult {
  if (reference.length === 0 || current.length === 0) {
    throw new DriftError("EMPTY_SAMPLE", "ks2samp needs two non-empty samples");
  }
  const a = sortedCopy(reference);
  const b = sortedCopy(current);
  return ksPValue(ksStatisticSorted(a, b), a.length, b.length);
}
