import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { serviceNodeFlags } from "@loopline/kit";

/** The repository root (demo/src/ → ../../). */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Where the demo's services listen: their own ports, so a `make up` stack can run beside it. All
 * below Linux's ephemeral range (32768-60999): a port inside it can be taken for a moment as the
 * local end of any outgoing connection on the machine, and then the service cannot listen (seen
 * once in `make test`: inference on 51052, EADDRINUSE).
 */
export const PORTS = {
  featureStore: 19051,
  inference: 19052,
  registry: 19053,
  admin: { "feature-ingest": 19401, "feature-store": 19402, inference: 19403, "model-registry": 19404, "drift-monitor": 19405, "retrain-trigger": 19406, "clickhouse-sink": 19407 },
} as const;

/** A service name, in start order. */
export type ServiceName = keyof typeof PORTS.admin;
export const START_ORDER: readonly ServiceName[] = ["model-registry", "feature-store", "feature-ingest", "clickhouse-sink", "inference", "drift-monitor", "retrain-trigger"];

/** Everything that scopes one demo run: topics, Redis keys, consumer groups, database, folders. */
export interface DemoScope {
  run: string;
  topicPrefix: string;
  redisPrefix: string;
  database: string;
  dir: string;
}

/** The environment of each service for a demo run. `extra` adds per-service variables (policies, windows). */
export function serviceEnv(scope: DemoScope, name: ServiceName, extra: Record<string, string>): Record<string, string> {
  const group = (svc: string) => `${scope.topicPrefix}${svc}`;
  const common: Record<string, string> = {
    LOOPLINE_TOPIC_PREFIX: scope.topicPrefix,
    LOOPLINE_CLICKHOUSE_DATABASE: scope.database,
    LOOPLINE_LOG_LEVEL: "info",
    LOOPLINE_SHUTDOWN_GRACE: "5s",
    LOOPLINE_REGISTRY_ADDRESS: `127.0.0.1:${PORTS.registry}`,
    LOOPLINE_FEATURE_STORE_ADDRESS: `127.0.0.1:${PORTS.featureStore}`,
  };
  const own: Record<ServiceName, Record<string, string>> = {
    "model-registry": {
      LOOPLINE_REGISTRY_GRPC_HOST: "127.0.0.1",
      LOOPLINE_REGISTRY_GRPC_PORT: String(PORTS.registry),
      LOOPLINE_REGISTRY_ADMIN_PORT: String(PORTS.admin["model-registry"]),
      LOOPLINE_REGISTRY_ARTIFACT_DIR: `${scope.dir}/artifacts`,
    },
    "feature-store": {
      LOOPLINE_FEATURE_STORE_GRPC_HOST: "127.0.0.1",
      LOOPLINE_FEATURE_STORE_GRPC_PORT: String(PORTS.featureStore),
      LOOPLINE_FEATURE_STORE_ADMIN_PORT: String(PORTS.admin["feature-store"]),
      LOOPLINE_FEATURE_STORE_KEY_PREFIX: scope.redisPrefix,
      LOOPLINE_FEATURE_STORE_GROUP: group("feature-store"),
    },
    "feature-ingest": {
      LOOPLINE_FEATURE_INGEST_ADMIN_PORT: String(PORTS.admin["feature-ingest"]),
      LOOPLINE_FEATURE_INGEST_STATE_PREFIX: scope.redisPrefix,
      LOOPLINE_FEATURE_INGEST_GROUP: group("feature-ingest"),
      // History is replayed with past event times: allow it.
      LOOPLINE_FEATURE_INGEST_MAX_CLOCK_SKEW: "1h",
    },
    "clickhouse-sink": { LOOPLINE_SINK_ADMIN_PORT: String(PORTS.admin["clickhouse-sink"]), LOOPLINE_SINK_GROUP: group("clickhouse-sink"), LOOPLINE_SINK_BATCH_INTERVAL: "500ms" },
    inference: {
      LOOPLINE_INFERENCE_HOST: "127.0.0.1",
      LOOPLINE_INFERENCE_PORT: String(PORTS.inference),
      LOOPLINE_INFERENCE_ADMIN_PORT: String(PORTS.admin.inference),
    },
    "drift-monitor": { LOOPLINE_DRIFT_ADMIN_PORT: String(PORTS.admin["drift-monitor"]), LOOPLINE_DRIFT_GROUP: group("drift-monitor") },
    "retrain-trigger": { LOOPLINE_RETRAIN_ADMIN_PORT: String(PORTS.admin["retrain-trigger"]), LOOPLINE_RETRAIN_GROUP: group("retrain-trigger") },
  };
  return { ...common, ...own[name], ...extra };
}

/** The running services of a demo. */
export interface DemoServices {
  /** SIGTERM every service (they drain), SIGKILL what is left after the grace period. */
  stop(): Promise<void>;
}

const PID_FILE = `${ROOT}.loopline/demo/pids`;

/** Stops services a previous demo left behind (an interrupted terminal, a killed shell). */
export async function reapPreviousRun(say: (line: string) => void): Promise<void> {
  if (!existsSync(PID_FILE)) return;
  const pids = readFileSync(PID_FILE, "utf8").split(/\s+/).filter((x) => x !== "").map(Number);
  const alive = pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("/services/");
    } catch {
      return false;
    }
  });
  if (alive.length > 0) {
    say(`stopping ${alive.length} service process(es) left by an earlier demo run…`);
    for (const pid of alive) process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && alive.some((pid) => existsSync(`/proc/${pid}`))) await new Promise((r) => setTimeout(r, 200));
    for (const pid of alive) if (existsSync(`/proc/${pid}`)) process.kill(pid, "SIGKILL");
  }
  writeFileSync(PID_FILE, "");
}

/** Resolves when nothing listens on 127.0.0.1:port; rejects naming the port otherwise. */
async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", () => reject(new Error(`port ${port} (${what}) is in use; the demo needs it free (another demo still running? \`ss -ltnp | grep ${port}\`)`)));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve()));
  });
}

/** Starts every service from its build in order and waits for each /readyz; logs go to scope.dir/<name>.log. */
export async function startServices(scope: DemoScope, extra: Partial<Record<ServiceName, Record<string, string>>>, say: (line: string) => void): Promise<DemoServices> {
  mkdirSync(scope.dir, { recursive: true });
  const children = new Map<ServiceName, ChildProcess>();
  const kill = () => {
    for (const c of children.values()) c.kill("SIGKILL");
  };
  process.on("exit", kill);
  const stop = async () => {
    const exits = [...children.entries()].reverse().map(
      ([, c]) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
          c.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          c.kill("SIGTERM");
        }),
    );
    await Promise.all(exits);
    process.off("exit", kill);
  };
  await reapPreviousRun(say);
  for (const name of START_ORDER) await assertPortFree(PORTS.admin[name], `${name} admin`);
  for (const [what, port] of [["feature-store gRPC", PORTS.featureStore], ["inference gRPC", PORTS.inference], ["registry gRPC", PORTS.registry]] as const) await assertPortFree(port, what);
  for (const name of START_ORDER) {
    const started = Date.now();
    const log = createWriteStream(`${scope.dir}/${name}.log`);
    const child = spawn(process.execPath, [...serviceNodeFlags(`${ROOT}services/${name}`), "--enable-source-maps", `${ROOT}services/${name}/dist/main.js`], {
      cwd: ROOT,
      env: { ...process.env, ...serviceEnv(scope, name, extra[name] ?? {}) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    children.set(name, child);
    writeFileSync(PID_FILE, [...children.values()].map((c) => c.pid).join("\n"));
    const url = `http://127.0.0.1:${PORTS.admin[name]}/readyz`;
    for (;;) {
      if (child.exitCode !== null) {
        await stop();
        throw new Error(`${name} exited during start-up (code ${child.exitCode}); see ${scope.dir}/${name}.log`);
      }
      const ok = await fetch(url).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() - started > 90_000) {
        await stop();
        throw new Error(`${name} not ready after 90 s; see ${scope.dir}/${name}.log`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    say(`  ${name.padEnd(16)} ready in ${((Date.now() - started) / 1000).toFixed(1)} s  (log: ${scope.dir.replace(ROOT, "")}/${name}.log)`);
  }
  return { stop };
}
