import { addExactProduct, ExactSum } from "./exact-sum.js";
import type { FieldValue } from "./event.js";
import type { SeriesPlan } from "./plan.js";

/**
 * Accumulators of one series over the events currently inside its window (internal to the engine).
 * Every accumulator is exact and order-free: a count, exact sums, min/max (recomputed from the
 * window when the extreme leaves), and value multiplicities. So the values read depend only on the
 * set of events in the window, never on the order they were added or expired.
 */
export class SeriesState {
  /** Events contributing (field present, type and filter matching). */
  count = 0;
  /** Exact sum of values, when the plan asks. */
  readonly sum: ExactSum | null;
  /** Exact sum of squared values, when the plan asks. */
  readonly sumSq: ExactSum | null;
  /** Minimum, valid unless `minStale`. */
  min = Infinity;
  /** Maximum, valid unless `maxStale`. */
  max = -Infinity;
  /** The minimum left the window; rescan before reading. */
  minStale = false;
  /** The maximum left the window; rescan before reading. */
  maxStale = false;
  /** Value to multiplicity, when the plan asks. */
  readonly distinct: Map<FieldValue, number> | null;

  constructor(readonly plan: SeriesPlan) {
    this.sum = plan.sum ? new ExactSum() : null;
    this.sumSq = plan.sumSq ? new ExactSum() : null;
    this.distinct = plan.distinct ? new Map() : null;
  }

  /** The value this entry contributes, or undefined when it does not contribute. */
  contribution(type: number, values: readonly (FieldValue | null)[]): FieldValue | undefined {
    const plan = this.plan;
    if (plan.typeMask !== null && plan.typeMask[type] !== true) return undefined;
    for (const [field, expected] of plan.where) if (values[field] !== expected) return undefined;
    if (plan.field < 0) return true;
    const value = values[plan.field];
    return value === null ? undefined : value;
  }

  /** Adds a contributing value. */
  add(value: FieldValue): void {
    this.count++;
    if (typeof value === "number") {
      if (this.sum !== null) this.sum.add(value);
      if (this.sumSq !== null) addExactProduct(this.sumSq, value, value, 1);
      if (value < this.min) this.min = value;
      if (value > this.max) this.max = value;
    }
    if (this.distinct !== null) this.distinct.set(value, (this.distinct.get(value) ?? 0) + 1);
  }

  /** Removes a value previously added (it left the window). */
  remove(value: FieldValue): void {
    this.count--;
    if (typeof value === "number") {
      if (this.sum !== null) this.sum.add(-value);
      if (this.sumSq !== null) addExactProduct(this.sumSq, value, value, -1);
      if (this.count === 0) {
        this.min = Infinity;
        this.max = -Infinity;
        this.minStale = false;
        this.maxStale = false;
      } else {
        if (this.plan.min && value === this.min) this.minStale = true;
        if (this.plan.max && value === this.max) this.maxStale = true;
      }
    }
    if (this.distinct !== null) {
      const left = (this.distinct.get(value) ?? 1) - 1;
      if (left === 0) this.distinct.delete(value);
      else this.distinct.set(value, left);
    }
  }

  /** Population (ddof 0) or sample (ddof 1) standard deviation from the exact sums; needs count > ddof. */
  stddev(ddof: 0 | 1, scratch: ExactSum): number {
    const n = this.count;
    const sum = this.sum;
    const sumSq = this.sumSq;
    if (sum === null || sumSq === null) return Number.NaN;
    // n·Σx² − (Σx)², accumulated exactly from the partials, then rounded once: no cancellation, and
    // the result depends only on the values held (the partials may differ, their exact sum does not).
    scratch.clear();
    for (let i = 0; i < sumSq.size; i++) addExactProduct(scratch, n, sumSq.term(i), 1);
    for (let i = 0; i < sum.size; i++) for (let j = 0; j < sum.size; j++) addExactProduct(scratch, sum.term(i), sum.term(j), -1);
    const numerator = scratch.value();
    if (numerator <= 0) return 0;
    return Math.sqrt(numerator / (n * (n - ddof)));
  }
}
