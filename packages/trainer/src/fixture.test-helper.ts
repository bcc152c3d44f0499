// Loads packages/trainer/fixtures/logistic-fixture.json (scikit-learn's answers; see make_logistic_fixture.py).
import { readFileSync } from "node:fs";

/** One scikit-learn fit of the fixture. */
export interface FixtureCase {
  name: string;
  C: number;
  class_weight: "balanced" | null;
  coef: number[];
  intercept: number;
  proba: number[];
}

/** The fixture file. */
export interface LogisticFixture {
  x: number[][];
  y: number[];
  means: number[];
  scales: number[];
  cases: FixtureCase[];
  metrics: { auc: number; auc_tied_scores: number; log_loss: number; accuracy: number; precision: number; recall: number; ece: number };
}

/** The parsed fixture. */
export const fixture = JSON.parse(readFileSync(new URL("../fixtures/logistic-fixture.json", import.meta.url), "utf8")) as LogisticFixture;

/** The fixture's x as a row-major matrix. */
export function fixtureMatrix(): { x: Float64Array; rows: number; columns: number } {
  const rows = fixture.x.length;
  const columns = fixture.x[0]?.length ?? 0;
  return { x: Float64Array.from(fixture.x.flat()), rows, columns };
}
