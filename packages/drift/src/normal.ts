// Error function and standard normal CDF, computed so that scipy.special.ndtr's results are reproduced
// to a few ulp: the z-test p-value and nothing else depends on them.

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;
const SQRT1_2 = Math.SQRT1_2;

/** Splits x*x into an exactly representable sum hi + lo (Dekker), so exp(-x*x) keeps full precision. */
function squareSplit(x: number): [number, number] {
  const hi = x * x;
  const c = 134217729 * x;
  const xh = c - (c - x);
  const xl = x - xh;
  const lo = xh * xh - hi + 2 * xh * xl + xl * xl;
  return [hi, lo];
}

/** exp(-x*x) without the relative error that rounding x*x would cause for large x. */
function expMinusSquare(x: number): number {
  const [hi, lo] = squareSplit(x);
  return Math.exp(-hi) * Math.exp(-lo);
}

/** erf through the all-positive series 2/sqrt(pi) * x e^{-x^2} * sum (2x^2)^n / (2n+1)!!; no cancellation. */
function erfSeries(x: number): number {
  const x2 = 2 * x * x;
  let term = 1;
  let sum = 1;
  for (let n = 1; n < 500; n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * x * expMinusSquare(x) * sum;
}

/** erfc for x >= 1.5 by the even contraction of Laplace's continued fraction (modified Lentz). */
function erfcContinuedFraction(x: number): number {
  // erfc(x) = x e^{-x^2}/sqrt(pi) * 1/(b0 + a1/(b1 + a2/(b2 + ...))), a_n = -n(2n-1)/2, b_n = x^2 + 2n + 1/2
  const tiny = 1e-300;
  const x2 = x * x;
  let f = x2 + 0.5;
  let c = f;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = -n * (2 * n - 1) * 0.5;
    const b = x2 + 2 * n + 0.5;
    d = b + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return ((x * ONE_OVER_SQRT_PI) / f) * expMinusSquare(x);
}

/** The error function erf(x). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  if (ax < 1.5) return erfSeries(x);
  const r = 1 - erfcContinuedFraction(ax);
  return x < 0 ? -r : r;
}

/** The complementary error function erfc(x) = 1 - erf(x), accurate in the far tail. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 1.5) return 1 - erf(x);
  if (x > 27.3) return 0;
  return erfcContinuedFraction(x);
}

/** Standard normal CDF Φ(x), evaluated the way scipy.special.ndtr (cephes) composes erf and erfc. */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const t = x * SQRT1_2;
  const z = Math.abs(t);
  if (z < SQRT1_2) return 0.5 + 0.5 * erf(t);
  const y = 0.5 * erfc(z);
  return t > 0 ? 1 - y : y;
}
