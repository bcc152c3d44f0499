// Drift benchmark: 100 numerical features, a 100,000-row current window against a precomputed reference
// profile of 100,000 rows (so Evidently picks Wasserstein-normed for every column).
//   node --conditions=@loopline/source --import tsx bench/drift.bench.ts
// When /work/main/.loopline/venv-drift/bin/python exists (see packages/drift/fixtures/requirements.txt),
// the same data is timed with Evidently (bench/drift_evidently.py) and the scores are compared.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildReferenceProfile, computeDriftReport, createCurrentWindow, type ColumnSpec } from "@loopline/drift";

const COLUMNS = Number(process.env.DRIFT_BENCH_COLUMNS ?? 100);
const ROWS = Number(process.env.DRIFT_BENCH_ROWS ?? 100_000);
const RUNS = 7;
const TARGET_MS = 200;
const TARGET_RATIO = 50;
const PYTHON = join(import.meta.dirname, "..", ".loopline", "venv-drift", "bin", "python");

/** mulberry32: small deterministic PRNG, so every run benchmarks the same data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normals(rand: () => number, n: number, mean: number, sd: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const th = 2 * Math.PI * rand();
    out[i] = mean + sd * r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = mean + sd * r * Math.sin(th);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const rand = prng(42);
const schema: ColumnSpec[] = Array.from({ length: COLUMNS }, (_, i) => ({ name: `f${i}`, kind: "numerical" as const }));
const reference: Record<string, Float64Array> = {};
const current: Record<string, Float64Array> = {};
for (let i = 0; i < COLUMNS; i++) {
  reference[`f${i}`] = normals(rand, ROWS, 0, 1);
  // A third of the columns drift in location or scale.
  current[`f${i}`] = normals(rand, ROWS, i % 3 === 0 ? 0.2 : 0, i % 3 === 1 ? 1.05 : 1);
}

let t0 = performance.now();
const profile = buildReferenceProfile(schema, reference);
const profileMs = performance.now() - t0;

// Per-record ingestion, as the drift monitor does it.
const window = createCurrentWindow(profile, { initialCapacity: ROWS });
const names = schema.map((s) => s.name);
const sources = names.map((n) => current[n]!);
const row: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
t0 = performance.now();
for (let r = 0; r < ROWS; r++) {
  for (let i = 0; i < COLUMNS; i++) row[names[i]!] = sources[i]![r]!;
  window.add(row);
}
const addMs = performance.now() - t0;

const times: number[] = [];
let report = computeDriftReport(profile, window); // warm-up, also builds the per-profile lookup grids
for (let k = 0; k < RUNS; k++) {
  t0 = performance.now();
  report = computeDriftReport(profile, window);
  times.push(performance.now() - t0);
}
const looplineMs = median(times);

let baselineMs: number | null = null;
let stattestMs: number | null = null;
let agree: boolean | null = null;
let maxRelErr: number | null = null;
if (existsSync(PYTHON) && process.env.DRIFT_BENCH_SKIP_BASELINE === undefined) {
  const dir = mkdtempSync(join(tmpdir(), "loopline-drift-bench-"));
  try {
    const pack = (cols: Record<string, Float64Array>): Buffer => {
      const all = new Float64Array(COLUMNS * ROWS);
      for (let i = 0; i < COLUMNS; i++) all.set(cols[`f${i}`]!, i * ROWS);
      return Buffer.from(all.buffer);
    };
    writeFileSync(join(dir, "reference.f64"), pack(reference));
    writeFileSync(join(dir, "current.f64"), pack(current));
    const py = spawnSync(PYTHON, [join(import.meta.dirname, "drift_evidently.py"), dir, String(COLUMNS), String(ROWS)], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    if (py.status !== 0) throw new Error(`drift_evidently.py failed: ${py.stderr}`);
    const out = JSON.parse(py.stdout.trim().split("\n").pop()!) as {
      report_ms: number;
      stattest_ms: number;
      drifted_columns: number;
      scores: Record<string, number>;
      methods: Record<string, string>;
    };
    baselineMs = out.report_ms;
    stattestMs = out.stattest_ms;
    maxRelErr = 0;
    agree = out.drifted_columns === report.dataset.driftedColumns;
    for (const c of report.columns) {
      const e = out.scores[c.column]!;
      const rel = Math.abs(c.score! - e) / Math.abs(e);
      maxRelErr = Math.max(maxRelErr, rel);
      if (!(rel <= 1e-9) || out.methods[c.column] !== c.method) agree = false;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const drifted = report.dataset.driftedColumns;
const ratio = baselineMs === null ? null : baselineMs / looplineMs;
console.log(`drift: ${COLUMNS} numerical columns, reference ${ROWS} rows, current ${ROWS} rows (method: ${report.columns[0]!.method})`);
console.log(`  build reference profile         ${profileMs.toFixed(1).padStart(9)} ms (once per model version)`);
console.log(`  window.add() per record         ${addMs.toFixed(1).padStart(9)} ms total, ${((addMs * 1e6) / ROWS).toFixed(0)} ns/record`);
console.log(`  Loopline report (median of ${RUNS})   ${looplineMs.toFixed(1).padStart(9)} ms   runs: ${times.map((t) => t.toFixed(0)).join(" ")}`);
if (baselineMs !== null) {
  console.log(`  Evidently DatasetDriftMetric    ${baselineMs.toFixed(1).padStart(9)} ms   ratio ${ratio!.toFixed(1)}x (target >= ${TARGET_RATIO}x)`);
  console.log(`  Evidently stattests only        ${stattestMs!.toFixed(1).padStart(9)} ms   ratio ${(stattestMs! / looplineMs).toFixed(1)}x`);
  console.log(`  scores agree with Evidently     ${agree ? "yes" : "NO"} (max relative error ${maxRelErr!.toExponential(2)})`);
} else {
  console.log("  Evidently baseline skipped: no .loopline/venv-drift (make bench installs it: scripts/python-env.sh)");
}
console.log(`  drifted columns ${drifted}/${COLUMNS}, dataset drift ${report.dataset.datasetDrift}`);
const ok = looplineMs < TARGET_MS && (ratio === null || (ratio >= TARGET_RATIO && agree === true));
console.log(
  JSON.stringify({
    bench: "drift",
    results: [
      {
        name: `wasserstein-${COLUMNS}x${ROWS}`,
        loopline_ms: Number(looplineMs.toFixed(2)),
        baseline_ms: baselineMs === null ? null : Number(baselineMs.toFixed(1)),
        ratio: ratio === null ? null : Number(ratio.toFixed(1)),
        target: `< ${TARGET_MS} ms and >= ${TARGET_RATIO}x Evidently`,
        ok,
      },
    ],
  }),
);
