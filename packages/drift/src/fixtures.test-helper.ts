// Shared by the tests: loads the JSON fixtures recorded by fixtures/make_fixtures.py and compares numbers.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DriftMethod } from "./methods.js";

/** A number as written by make_fixtures.py: non-finite values are strings. */
export type FixtureNumber = number | "inf" | "-inf" | "nan";

/** One recorded stattest result. */
export interface FixtureStattest {
  readonly score: FixtureNumber;
  readonly drifted: boolean;
  readonly threshold: number;
}

/** One single-column case of columns.json. */
export interface ColumnCase {
  readonly name: string;
  readonly kind: "numerical" | "categorical";
  readonly reference: ReadonlyArray<number | string | null>;
  readonly current: ReadonlyArray<number | string | null>;
  readonly expected_status?: "empty-reference" | "empty-current";
  readonly evidently: { method: DriftMethod; score: FixtureNumber; threshold: number; drifted: boolean } | { error: string };
  readonly stattests?: Readonly<Partial<Record<DriftMethod, FixtureStattest>>>;
  readonly scipy?: {
    readonly ks_statistic?: FixtureNumber;
    readonly ks_pvalue?: FixtureNumber;
    readonly wasserstein_distance?: FixtureNumber;
    readonly chisquare_statistic?: FixtureNumber | null;
  };
  readonly unique?: number;
}

const dir = join(import.meta.dirname, "..", "fixtures");

/** Parses a fixture file of packages/drift/fixtures. */
export function loadFixture<T>(file: string): T {
  return JSON.parse(readFileSync(join(dir, file), "utf8")) as T;
}

/** The single-column cases. */
export function columnCases(): readonly ColumnCase[] {
  return loadFixture<{ cases: ColumnCase[] }>("columns.json").cases;
}

/** Decodes a fixture number. */
export function fixtureNumber(v: FixtureNumber): number {
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  if (v === "nan") return Number.NaN;
  return v;
}

/** Decodes a fixture value (null = NaN, "inf"/"-inf" = ±Infinity for numerical columns). */
export function fixtureValue(v: number | string | null, kind: "numerical" | "categorical"): unknown {
  if (v === null) return kind === "numerical" ? Number.NaN : null;
  if (kind === "numerical" && (v === "inf" || v === "-inf")) return v === "inf" ? Infinity : -Infinity;
  return v;
}

/** The finite (numerical) or non-missing (categorical) values, as Evidently tests them. */
export function cleaned(values: ReadonlyArray<number | string | null>, kind: "numerical" | "categorical"): number[] | string[] {
  if (kind === "numerical") return values.filter((v): v is number => typeof v === "number");
  return values.filter((v): v is string => typeof v === "string");
}

/** Agreement required with the recorded numbers: relative 1e-9, or absolute 1e-14 near zero. */
export const RELATIVE_TOLERANCE = 1e-9;
export const ABSOLUTE_TOLERANCE = 1e-14;

/** Asserts |actual - expected| <= 1e-9 |expected| (or <= 1e-14); infinities and NaN must match exactly. */
export function assertClose(actual: number, expected: FixtureNumber, what: string): void {
  const e = fixtureNumber(expected);
  if (!Number.isFinite(e)) {
    assert.ok(Object.is(actual, e) || (Number.isNaN(e) && Number.isNaN(actual)), `${what}: got ${actual}, expected ${e}`);
    return;
  }
  const diff = Math.abs(actual - e);
  assert.ok(
    diff <= RELATIVE_TOLERANCE * Math.abs(e) || diff <= ABSOLUTE_TOLERANCE,
    `${what}: got ${actual}, expected ${e} (relative error ${(diff / Math.abs(e)).toExponential(2)})`,
  );
}
