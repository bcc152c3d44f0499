// Runs the test suites through node:test + tsx.
//   unit:        every *.test.ts that is not an integration test (no servers needed)
//   integration: every *.int.test.ts (needs the local stack from infra/local)
//   all:         both
// Extra arguments are passed to node (e.g. --test-name-pattern=...). Packages resolve each other's
// TypeScript sources through the "@loopline/source" export condition, so no build is needed first.
import { spawnSync } from "node:child_process";
import { globSync } from "node:fs";

const [kind = "all", ...rest] = process.argv.slice(2);
const roots = ["packages", "services", "test", "demo", "bench"];
const all = roots.flatMap((r) => globSync(`${r}/**/*.test.ts`, { exclude: (p) => p.includes("node_modules") }));
const isInt = (f) => f.endsWith(".int.test.ts");
const files = all.filter((f) => (kind === "unit" ? !isInt(f) : kind === "integration" ? isInt(f) : true)).sort();
if (files.length === 0) {
  console.error(`no ${kind} test files found`);
  process.exit(1);
}
const concurrency = process.env.LOOPLINE_TEST_CONCURRENCY ?? (kind === "unit" ? "2" : "3");
const args = [
  "--conditions=@loopline/source",
  "--import", "tsx",
  "--test",
  `--test-concurrency=${concurrency}`,
  "--test-timeout=300000",
  ...rest,
  ...files,
];
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(r.status ?? 1);
