// Trainer benchmark: fitting the built-in logistic regression (Newton/IRLS) and gradient-boosted trees
// on 20,000 rows × 13 features, against scikit-learn on the same data when
// /work/main/.loopline/venv-trainer/bin/python exists (examples/external-trainer/requirements.txt).
//   node --conditions=@loopline/source --import tsx bench/trainer.bench.ts
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRandom, fitGradientBoosting, fitLogisticRegression, predictGradientBoosting } from "@loopline/trainer";

const ROWS = Number(process.env["TRAINER_BENCH_ROWS"] ?? 20_000);
const COLUMNS = 13;
const RUNS = 5;
const PYTHON = join(import.meta.dirname, "..", ".loopline", "venv-trainer", "bin", "python");
// Targets: a retrain must not be the slow part of the loop; match or beat scikit-learn's single-threaded fit.
const TARGET_LOGISTIC_MS = 500;
const TARGET_GBT_MS = 10_000;

const random = createRandom(7);
const x = new Float64Array(ROWS * COLUMNS);
const y = new Float64Array(ROWS);
for (let i = 0; i < ROWS; i++) {
  let logit = -1;
  for (let j = 0; j < COLUMNS; j++) {
    // float32-exact values, as served features are.
    const v = Math.fround(random.next() * 10 * (j + 1));
    x[i * COLUMNS + j] = v;
    logit += ((j % 3) - 1) * 0.05 * v;
  }
  y[i] = random.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const time = (work: () => unknown): number => {
  const start = performance.now();
  work();
  return performance.now() - start;
};

const logisticMs = median(Array.from({ length: RUNS }, () => time(() => fitLogisticRegression(x, ROWS, COLUMNS, y, { c: 1 }))));
let gbt: ReturnType<typeof fitGradientBoosting> | undefined;
const gbtMs = time(() => (gbt = fitGradientBoosting(x, ROWS, COLUMNS, y, { trees: 100, maxDepth: 3, learningRate: 0.1 })));

interface SklearnResult {
  logistic_ms: number;
  gbt_ms: number;
  gbt_proba: number[];
}
let baseline: SklearnResult | null = null;
if (existsSync(PYTHON)) {
  const dir = mkdtempSync(join(tmpdir(), "loopline-trainer-bench-"));
  try {
    const csv = join(dir, "data.csv");
    const lines: string[] = [];
    for (let i = 0; i < ROWS; i++) lines.push([...x.subarray(i * COLUMNS, (i + 1) * COLUMNS), y[i]].join(","));
    writeFileSync(csv, lines.join("\n"));
    const r = spawnSync(PYTHON, [join(import.meta.dirname, "trainer_sklearn.py"), csv], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1" } });
    if (r.status === 0) baseline = JSON.parse(r.stdout.trim().split("\n").pop() ?? "null") as SklearnResult | null; // not "typeof baseline": narrowed to null here
    else console.error(r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let maxDiff: number | null = null;
if (baseline !== null && gbt !== undefined) {
  const p = predictGradientBoosting(gbt, x.subarray(0, 200 * COLUMNS), 200);
  maxDiff = Math.max(...baseline.gbt_proba.map((q, i) => Math.abs(q - p[i]!)));
}
console.log(`trainer: ${ROWS} rows × ${COLUMNS} features`);
console.log(`  logistic regression (median of ${RUNS})  ${logisticMs.toFixed(1).padStart(9)} ms${baseline ? `   scikit-learn newton-cholesky ${baseline.logistic_ms.toFixed(1)} ms` : ""}`);
console.log(`  gradient boosting, 100 trees depth 3  ${gbtMs.toFixed(1).padStart(9)} ms${baseline ? `   scikit-learn ${baseline.gbt_ms.toFixed(1)} ms; max |ΔP| on 200 rows ${maxDiff?.toExponential(2)}` : ""}`);
if (baseline === null) console.log("  scikit-learn baseline skipped: no .loopline/venv-trainer (make bench installs it: scripts/python-env.sh)");
console.log(
  JSON.stringify({
    bench: "trainer",
    results: [
      {
        name: `logistic-fit-${ROWS}x${COLUMNS}`,
        loopline_ms: Number(logisticMs.toFixed(2)),
        baseline_ms: baseline === null ? null : Number(baseline.logistic_ms.toFixed(1)),
        ratio: baseline === null ? null : Number((baseline.logistic_ms / logisticMs).toFixed(2)),
        target: `< ${TARGET_LOGISTIC_MS} ms`,
        ok: logisticMs < TARGET_LOGISTIC_MS,
      },
      {
        name: `gbt-fit-${ROWS}x${COLUMNS}-100x3`,
        loopline_ms: Number(gbtMs.toFixed(1)),
        baseline_ms: baseline === null ? null : Number(baseline.gbt_ms.toFixed(1)),
        ratio: baseline === null ? null : Number((baseline.gbt_ms / gbtMs).toFixed(2)),
        target: `< ${TARGET_GBT_MS} ms, P within 1e-6 of scikit-learn`,
        ok: gbtMs < TARGET_GBT_MS && (maxDiff === null || maxDiff < 1e-6),
      },
    ],
  }),
);
