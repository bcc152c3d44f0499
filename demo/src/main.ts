// `make demo`: the fraud story through the whole loop. Environment knobs (all optional):
// LOOPLINE_DEMO_SEED (7), LOOPLINE_DEMO_RATE (transactions/s, 120), LOOPLINE_DEMO_BEFORE_DRIFT (s, 60),
// LOOPLINE_DEMO_MAX_LIVE (s, 480).
import { runDemo } from "./run-demo.js";

const num = (name: string, fallback: number) => {
  const v = process.env[name]?.trim();
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`${name}: ${JSON.stringify(v)} is not a positive number\n`);
    process.exit(2);
  }
  return n;
};

runDemo({
  seed: num("LOOPLINE_DEMO_SEED", 7),
  rate: num("LOOPLINE_DEMO_RATE", 120),
  beforeDriftSeconds: num("LOOPLINE_DEMO_BEFORE_DRIFT", 60),
  maxLiveSeconds: num("LOOPLINE_DEMO_MAX_LIVE", 480),
}).then(
  (s) => {
    const ok = s.challenger !== undefined && !(s.badReachedProduction && !s.badRolledBack);
    process.exit(ok ? 0 : 1);
  },
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
