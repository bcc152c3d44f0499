// The reference profile: what drift needs from a model version's training data, computed once and stored as
// JSON. Numerical columns keep every finite value (as distinct values + multiplicities) because KS and
// Wasserstein are only exact against the full reference sample; categorical columns keep value counts.
import type { ColumnKind } from "./binning.js";
import { DriftError } from "./errors.js";

/** A column to monitor and how Evidently should treat it. */
export interface ColumnSpec {
  /** Column (feature) name as it appears in records. */
  readonly name: string;
  /** numerical or categorical. */
  readonly kind: ColumnKind;
}

/** Reference data of a numerical column. */
export interface NumericalColumnProfile {
  readonly name: string;
  readonly kind: "numerical";
  /** Rows seen, missing included. */
  readonly rowCount: number;
  /** Rows dropped before testing: null/undefined, NaN, ±Infinity or a non-number. */
  readonly missingCount: number;
  /** Finite values kept (rowCount - missingCount). */
  readonly size: number;
  /** Distinct finite values, ascending. */
  readonly values: Float64Array;
  /** Multiplicity of each distinct value. */
  readonly counts: Float64Array;
  /** Population standard deviation of the finite values (Wasserstein's norm). */
  readonly std: number;
}

/** Reference data of a categorical column. */
export interface CategoricalColumnProfile {
  readonly name: string;
  readonly kind: "categorical";
  /** Rows seen, missing included. */
  readonly rowCount: number;
  /** Rows dropped before testing: null/undefined, NaN or ±Infinity. */
  readonly missingCount: number;
  /** Non-missing values kept. */
  readonly size: number;
  /** Occurrences of each category label. */
  readonly counts: ReadonlyMap<string, number>;
}

/** Reference data of one column. */
export type ColumnProfile = NumericalColumnProfile | CategoricalColumnProfile;

/** The reference profile of a model version: one entry per monitored column, in order. */
export interface ReferenceProfile {
  readonly columns: readonly ColumnProfile[];
}

/** Format tag of the profile's JSON form. */
export const PROFILE_FORMAT = "loopline.drift.reference-profile/v1";

/** JSON form of a profile: numbers as little-endian float64 in base64, categories as [label, count] pairs. */
export interface ReferenceProfileJson {
  readonly format: typeof PROFILE_FORMAT;
  readonly columns: ReadonlyArray<
    | {
        readonly name: string;
        readonly kind: "numerical";
        readonly rowCount: number;
        readonly missingCount: number;
        readonly values: string;
        readonly counts?: string;
      }
    | {
        readonly name: string;
        readonly kind: "categorical";
        readonly rowCount: number;
        readonly missingCount: number;
        readonly categories: ReadonlyArray<readonly [string, number]>;
      }
  >;
}

/** Label of a categorical value, or undefined when Evidently would drop it as missing. */
export function categoryLabel(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === "boolean" || typeof value === "bigint") return String(value);
  return undefined;
}

/** Weighted population standard deviation with compensated sums. */
function weightedStd(values: Float64Array, counts: Float64Array, size: number): number {
  let sum = 0;
  let carry = 0;
  for (let i = 0; i < values.length; i++) {
    const y = values[i]! * counts[i]! - carry;
    const t = sum + y;
    carry = t - sum - y;
    sum = t;
  }
  const mean = sum / size;
  let sq = 0;
  carry = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i]! - mean;
    const y = d * d * counts[i]! - carry;
    const t = sq + y;
    carry = t - sq - y;
    sq = t;
  }
  return Math.sqrt(sq / size);
}

/** Numerical profile from a finite sample that is already sorted ascending. */
export function numericalProfileFromSorted(
  name: string,
  sorted: Float64Array,
  rowCount: number,
): NumericalColumnProfile {
  let distinct = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  const values = new Float64Array(distinct);
  const counts = new Float64Array(distinct);
  let k = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) values[++k] = sorted[i]!;
    counts[k] = counts[k]! + 1;
  }
  return makeNumerical(name, rowCount, values, counts);
}

function makeNumerical(name: string, rowCount: number, values: Float64Array, counts: Float64Array): NumericalColumnProfile {
  let size = 0;
  for (const c of counts) size += c;
  return {
    name,
    kind: "numerical",
    rowCount,
    missingCount: rowCount - size,
    size,
    values,
    counts,
    std: size > 0 ? weightedStd(values, counts, size) : Number.NaN,
  };
}

function numericalProfile(name: string, raw: ArrayLike<unknown>): NumericalColumnProfile {
  const finite = new Float64Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (typeof v === "number" && Number.isFinite(v)) finite[n++] = v;
  }
  const sorted = finite.subarray(0, n);
  sorted.sort();
  return numericalProfileFromSorted(name, sorted, raw.length);
}

function categoricalProfile(name: string, raw: ArrayLike<unknown>): CategoricalColumnProfile {
  const counts = new Map<string, number>();
  let size = 0;
  for (let i = 0; i < raw.length; i++) {
    const label = categoryLabel(raw[i]);
    if (label === undefined) continue;
    counts.set(label, (counts.get(label) ?? 0) + 1);
    size++;
  }
  return { name, kind: "categorical", rowCount: raw.length, missingCount: raw.length - size, size, counts };
}

/**
 * Builds the reference profile once per model version from columnar reference data
 * (`data[name][row]`). Missing values are counted and dropped exactly as Evidently drops them.
 */
export function buildReferenceProfile(
  schema: readonly ColumnSpec[],
  data: Readonly<Record<string, ArrayLike<unknown>>>,
): ReferenceProfile {
  const seen = new Set<string>();
  const columns = schema.map((spec) => {
    if (seen.has(spec.name)) throw new DriftError("INVALID_ARGUMENT", `column "${spec.name}" is listed twice`);
    seen.add(spec.name);
    const raw = data[spec.name];
    if (raw === undefined) throw new DriftError("UNKNOWN_COLUMN", `reference data has no column "${spec.name}"`);
    return spec.kind === "numerical" ? numericalProfile(spec.name, raw) : categoricalProfile(spec.name, raw);
  });
  return { columns };
}

function encodeFloat64(values: Float64Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString("base64");
}

function decodeFloat64(text: string, what: string): Float64Array {
  const bytes = Buffer.from(text, "base64");
  if (bytes.length % 8 !== 0) throw new DriftError("INVALID_PROFILE", `${what}: not a float64 array`);
  const out = new Float64Array(bytes.length / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** The profile's JSON form (lossless: every float64 is stored bit for bit). */
export function profileToJson(profile: ReferenceProfile): ReferenceProfileJson {
  return {
    format: PROFILE_FORMAT,
    columns: profile.columns.map((c) => {
      if (c.kind === "categorical") {
        return {
          name: c.name,
          kind: c.kind,
          rowCount: c.rowCount,
          missingCount: c.missingCount,
          categories: [...c.counts.entries()],
        };
      }
      const allOnes = c.counts.every((n) => n === 1);
      return {
        name: c.name,
        kind: c.kind,
        rowCount: c.rowCount,
        missingCount: c.missingCount,
        values: encodeFloat64(c.values),
        ...(allOnes ? {} : { counts: encodeFloat64(c.counts) }),
      };
    }),
  };
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

/** Reads a profile from its JSON form (parsed), validating it; throws DriftError INVALID_PROFILE. */
export function profileFromJson(json: unknown): ReferenceProfile {
  const bad = (why: string): never => {
    throw new DriftError("INVALID_PROFILE", `invalid reference profile: ${why}`);
  };
  if (typeof json !== "object" || json === null) return bad("not an object");
  const obj = json as Record<string, unknown>;
  if (obj["format"] !== PROFILE_FORMAT) return bad(`format is not "${PROFILE_FORMAT}"`);
  if (!Array.isArray(obj["columns"])) return bad("columns is not an array");
  const columns = (obj["columns"] as unknown[]).map((raw, i): ColumnProfile => {
    if (typeof raw !== "object" || raw === null) return bad(`columns[${i}] is not an object`);
    const c = raw as Record<string, unknown>;
    const name = c["name"];
    if (typeof name !== "string") return bad(`columns[${i}].name is not a string`);
    const rowCount = c["rowCount"];
    const missingCount = c["missingCount"];
    if (!isCount(rowCount) || !isCount(missingCount)) return bad(`${name}: rowCount/missingCount`);
    if (c["kind"] === "numerical") {
      if (typeof c["values"] !== "string") return bad(`${name}: values`);
      const values = decodeFloat64(c["values"], name);
      const counts = typeof c["counts"] === "string" ? decodeFloat64(c["counts"], name) : new Float64Array(values.length).fill(1);
      if (counts.length !== values.length) return bad(`${name}: counts and values differ in length`);
      for (let k = 0; k < values.length; k++) {
        if (!Number.isFinite(values[k]!) || (k > 0 && !(values[k]! > values[k - 1]!))) return bad(`${name}: values not strictly ascending`);
        if (!isCount(counts[k]) || counts[k] === 0) return bad(`${name}: counts`);
      }
      const p = makeNumerical(name, rowCount, values, counts);
      if (p.missingCount !== missingCount) return bad(`${name}: missingCount does not match rowCount - size`);
      return p;
    }
    if (c["kind"] === "categorical") {
      if (!Array.isArray(c["categories"])) return bad(`${name}: categories`);
      const counts = new Map<string, number>();
      let size = 0;
      for (const entry of c["categories"] as unknown[]) {
        if (!Array.isArray(entry) || typeof entry[0] !== "string" || !isCount(entry[1])) return bad(`${name}: category entry`);
        counts.set(entry[0], entry[1]);
        size += entry[1];
      }
      if (rowCount - missingCount !== size) return bad(`${name}: category counts do not add up`);
      return { name, kind: "categorical", rowCount, missingCount, size, counts };
    }
    return bad(`${name}: kind must be "numerical" or "categorical"`);
  });
  return { columns };
}
