// Reads the scikit-learn fixtures (fixtures/performance.json) for the tests.
import { readFileSync } from "node:fs";

/** One recorded case: inputs and what scikit-learn computed from them. */
export interface PerformanceCase {
  readonly name: string;
  readonly threshold: number;
  readonly scores: number[];
  readonly labels: number[];
  readonly expected: {
    readonly labelled: number;
    readonly positives: number;
    readonly auc: number | null;
    readonly accuracy: number;
    readonly precision: number;
    readonly recall: number;
    readonly log_loss: number;
    readonly calibration: { readonly counts: number[]; readonly positive_rate: number[]; readonly mean_score: number[]; readonly ece: number };
  };
}

/** Every case of fixtures/performance.json. */
export function performanceCases(): PerformanceCase[] {
  const json = JSON.parse(readFileSync(new URL("../fixtures/performance.json", import.meta.url), "utf8")) as { cases: PerformanceCase[] };
  return json.cases;
}

/** The case with this name; throws when absent. */
export function performanceCase(name: string): PerformanceCase {
  const found = performanceCases().find((c) => c.name === name);
  if (found === undefined) throw new Error(`no fixture case ${name}`);
  return found;
}
