/**
 * An exact running sum of doubles (Shewchuk's non-overlapping partials, as in Python's math.fsum).
 * Adding -x removes x exactly, so a sliding window can add and expire values in any order and
 * `value()` — the correctly rounded exact sum — depends only on the multiset of values held. That is
 * what makes stream and replay agree bit for bit. Exact while no partial overflows (|sum| < 1.8e308).
 */
export class ExactSum {
  // partials[0..size) are live; the array never shrinks, so the hot path never resizes it.
  private readonly partials: number[] = [];
  /** Number of live partials. */
  size = 0;

  /** Adds `x` (finite) exactly. */
  add(x: number): void {
    // Hot path (every event, every window): no allocation; usually 1-3 partials.
    const p = this.partials;
    const n = this.size;
    let kept = 0;
    for (let j = 0; j < n; j++) {
      let y = p[j] as number;
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[kept++] = lo;
      x = hi;
    }
    if (x !== 0) p[kept++] = x;
    this.size = kept;
  }

  /** The exact sum rounded once to the nearest double (ties to even); 0 for an empty sum. */
  value(): number {
    const p = this.partials;
    let n = this.size;
    if (n === 0) return 0;
    let hi = p[--n] as number;
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n] as number;
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // Round half-way cases correctly: if the remaining partials push the same way as lo, the
    // sum is beyond the half-way point and hi must move one ulp (the fsum correction).
    if (n > 0) {
      const next = p[n - 1] as number;
      if ((lo < 0 && next < 0) || (lo > 0 && next > 0)) {
        const y = lo * 2;
        const x = hi + y;
        if (y === x - hi) hi = x;
      }
    }
    return hi;
  }

  /** Partial `i` (0 <= i < size): exact, non-overlapping, increasing magnitude; their sum is the exact total. */
  term(i: number): number {
    return this.partials[i] as number;
  }

  /** Forgets everything. */
  clear(): void {
    this.size = 0;
  }
}

// Veltkamp split constant 2^27 + 1: splits a double into two 26-bit halves whose products are exact.
const SPLITTER = 134_217_729;

/** Adds the exact product a*b to `sum` as two doubles (Dekker's two-product; exact barring over/underflow). */
export function addExactProduct(sum: ExactSum, a: number, b: number, sign: 1 | -1): void {
  const p = a * b;
  const ca = SPLITTER * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = SPLITTER * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  const err = al * bl - (p - ah * bh - al * bh - ah * bl);
  sum.add(sign * p);
  if (err !== 0) sum.add(sign * err);
}
