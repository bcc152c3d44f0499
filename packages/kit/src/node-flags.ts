import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The Node/V8 flags a service asks to be started with: the "nodeFlags" array of its package.json
 * (for example a larger young generation for a service that allocates per record). Every launcher —
 * infra/local/services.sh, the demo, the benchmarks — reads them here, so a service runs the same way
 * everywhere.
 */
export function serviceNodeFlags(serviceDir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(serviceDir, "package.json"), "utf8")) as { nodeFlags?: unknown };
  const flags = pkg.nodeFlags ?? [];
  if (!Array.isArray(flags) || !flags.every((f): f is string => typeof f === "string" && f.startsWith("--"))) {
    throw new Error(`${serviceDir}/package.json: nodeFlags must be an array of --flags, got ${JSON.stringify(flags)}`);
  }
  return flags;
}
