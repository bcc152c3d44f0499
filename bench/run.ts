// `make bench`: runs every bench/*.bench.ts as its own process (so one benchmark's heap and JIT do
// not colour the next), collects the JSON line each prints last, and prints one summary table with
// Loopline's figure, the baseline measured in the same run, the ratio and the target.
// Usage: make bench [BENCH=drift,features]   (filter by file name)
import { spawnSync } from "node:child_process";
import { globSync, mkdirSync, writeFileSync } from "node:fs";

interface BenchResult {
  name: string;
  loopline: number;
  /** null (or absent) when the baseline could not run, e.g. its Python venv is missing. */
  baseline?: number | null;
  unit: string;
  ratio?: number | null;
  target: string;
  ok: boolean;
}

const filter = (process.env["BENCH"] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
const files = globSync("bench/*.bench.ts")
  .sort()
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error("no benchmarks matched");
  process.exit(1);
}
const all: (BenchResult & { bench: string })[] = [];
let failedToRun = 0;
for (const file of files) {
  console.log(`\n### ${file}`);
  const r = spawnSync(process.execPath, ["--conditions=@loopline/source", "--import", "tsx", "--expose-gc", file], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const lines = (r.stdout ?? "").trimEnd().split("\n");
  const last = lines.pop() ?? "";
  process.stdout.write(lines.join("\n") + "\n");
  try {
    const parsed = JSON.parse(last) as { bench: string; results: (BenchResult & { loopline_ms?: number; baseline_ms?: number | null })[] };
    for (const res of parsed.results) {
      // Accept the {loopline_ms, baseline_ms} shorthand for time measurements.
      const { loopline_ms, baseline_ms, ...rest } = res;
      const norm: BenchResult = loopline_ms === undefined ? rest : { ...rest, loopline: loopline_ms, unit: "ms", ...(baseline_ms != null ? { baseline: baseline_ms } : {}) };
      all.push({ bench: parsed.bench, ...norm });
    }
  } catch {
    failedToRun++;
    console.log(last);
    console.error(`!! ${file} did not end with a JSON result line (exit ${r.status})`);
  }
}
const fmt = (n: number | null | undefined) => (n == null ? "-" : n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3));
console.log("\n## Summary (same machine, same run)\n");
console.log("| benchmark | loopline | baseline | unit | ratio | target | ok |");
console.log("|---|---|---|---|---|---|---|");
for (const r of all) {
  console.log(`| ${r.bench}: ${r.name} | ${fmt(r.loopline)} | ${fmt(r.baseline)} | ${r.unit} | ${r.ratio == null ? "-" : `${fmt(r.ratio)}x`} | ${r.target} | ${r.ok ? "yes" : "NO"} |`);
}
mkdirSync(".bench", { recursive: true });
writeFileSync(".bench/last.json", JSON.stringify({ at: new Date().toISOString(), results: all }, null, 2));
console.log("\n(results also in .bench/last.json)");
process.exit(failedToRun > 0 ? 1 : 0);
