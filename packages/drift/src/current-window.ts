// The current window: compact per-column state updated once per record. Numerical columns append finite
// values to a growable Float64Array (the report needs the sample itself to be exact); categorical columns
// keep counts. Missing values are only counted.
import { DriftError } from "./errors.js";
import { categoryLabel, type ColumnSpec, type ReferenceProfile } from "./profile.js";

/** State of a numerical column in the window. */
export interface NumericalWindowColumn {
  readonly name: string;
  readonly kind: "numerical";
  /** Finite values in arrival order; only the first `size` entries are valid. */
  readonly values: Float64Array;
  readonly size: number;
  readonly missingCount: number;
}

/** State of a categorical column in the window. */
export interface CategoricalWindowColumn {
  readonly name: string;
  readonly kind: "categorical";
  readonly counts: ReadonlyMap<string, number>;
  readonly size: number;
  readonly missingCount: number;
}

/** State of one column in the window. */
export type WindowColumn = NumericalWindowColumn | CategoricalWindowColumn;

/** Streaming accumulator of the current window. */
export interface CurrentWindow {
  /** Adds one record; a field that is absent, null, NaN or ±Infinity counts as missing. Hot path. */
  add(record: Readonly<Record<string, unknown>>): void;
  /** Adds many values of one column at once (for backfill); rows are counted by add() only. */
  addColumn(name: string, values: ArrayLike<unknown>): void;
  /** Records added through add(), or the largest column length given to addColumn(). */
  readonly rowCount: number;
  /** Per-column state, in schema order. */
  readonly columns: readonly WindowColumn[];
  /** Empties the window, keeping its buffers. */
  clear(): void;
}

/** Options of createCurrentWindow. */
export interface CurrentWindowOptions {
  /** Initial capacity of each numerical column's buffer, in values. Default 1024; it doubles as needed. */
  readonly initialCapacity?: number;
}

class NumericalState implements NumericalWindowColumn {
  readonly kind = "numerical";
  values: Float64Array;
  size = 0;
  missingCount = 0;
  constructor(
    readonly name: string,
    capacity: number,
  ) {
    this.values = new Float64Array(capacity);
  }
  push(v: unknown): void {
    if (typeof v === "number" && v - v === 0) {
      // v - v === 0 is true exactly for finite numbers.
      if (this.size === this.values.length) this.grow(this.size + 1);
      this.values[this.size++] = v;
    } else {
      this.missingCount++;
    }
  }
  grow(min: number): void {
    const next = new Float64Array(Math.max(min, this.values.length * 2, 16));
    next.set(this.values.subarray(0, this.size));
    this.values = next;
  }
}

class CategoricalState implements CategoricalWindowColumn {
  readonly kind = "categorical";
  readonly counts = new Map<string, number>();
  size = 0;
  missingCount = 0;
  constructor(readonly name: string) {}
  push(v: unknown): void {
    const label = categoryLabel(v);
    if (label === undefined) {
      this.missingCount++;
      return;
    }
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
    this.size++;
  }
}

/** Creates an empty current window for the columns of a schema or of a reference profile. */
export function createCurrentWindow(
  columns: readonly ColumnSpec[] | ReferenceProfile,
  options: CurrentWindowOptions = {},
): CurrentWindow {
  const specs: readonly ColumnSpec[] = "columns" in columns ? columns.columns : columns;
  const capacity = options.initialCapacity ?? 1024;
  const states = specs.map((s) => (s.kind === "numerical" ? new NumericalState(s.name, capacity) : new CategoricalState(s.name)));
  const byName = new Map(states.map((s) => [s.name, s]));
  if (byName.size !== states.length) throw new DriftError("INVALID_ARGUMENT", "column names must be unique");
  let rowCount = 0;
  return {
    add(record) {
      for (let i = 0; i < states.length; i++) {
        const s = states[i]!;
        s.push(record[s.name]);
      }
      rowCount++;
    },
    addColumn(name, values) {
      const s = byName.get(name);
      if (s === undefined) throw new DriftError("UNKNOWN_COLUMN", `the window has no column "${name}"`);
      if (s instanceof NumericalState && s.size + values.length > s.values.length) s.grow(s.size + values.length);
      for (let i = 0; i < values.length; i++) s.push(values[i]);
      rowCount = Math.max(rowCount, s.size + s.missingCount);
    },
    get rowCount() {
      return rowCount;
    },
    columns: states,
    clear() {
      for (const s of states) {
        s.size = 0;
        s.missingCount = 0;
        if (s instanceof CategoricalState) s.counts.clear();
      }
      rowCount = 0;
    },
  };
}
