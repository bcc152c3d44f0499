import { spawn, type ChildProcess } from "node:child_process";
import { rm } from "node:fs/promises";

/** How to start a server a test owns, and how to know it is ready. */
export interface ServerSpec {
  /** Names it in errors, e.g. "private redis-server on 28734". */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  /** True once the server answers; polled until then. */
  ready(): Promise<boolean>;
  timeoutMs: number;
  /**
   * What to show when the start fails, e.g. the tail of its error log. Without it the error shows
   * the last lines the process wrote to stdout and stderr.
   */
  diagnose?(): Promise<string>;
}

/** A started server: kill it to make an outage. */
export interface RunningServer {
  readonly pid: number | undefined;
  /** SIGKILL (an outage, not a clean stop); resolves once it has exited and no longer answers. */
  kill(): Promise<void>;
}

const POLL_MS = 50;
const OUTPUT_KEPT = 4096;
const TAIL_LINES = 8;

function tail(text: string): string {
  const lines = text.trimEnd().split("\n").slice(-TAIL_LINES).join("\n");
  return lines === "" ? "(it wrote nothing)" : lines;
}

/**
 * Spawns a server and resolves once `ready()` says so. If the process exits first (a taken port, a
 * bad flag, a missing binary) the start fails at once with why, instead of polling a dead process
 * until the timeout.
 */
export async function spawnUntilReady(spec: ServerSpec): Promise<RunningServer> {
  const child: ChildProcess = spawn(spec.command, spec.args, { cwd: spec.cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-OUTPUT_KEPT);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("error", (err) => ((exit ??= err.message), resolve()));
    child.once("exit", (code, signal) => ((exit ??= `exited with ${signal ?? `code ${code}`}`), resolve()));
  });
  const why = async () => (spec.diagnose !== undefined ? await spec.diagnose() : tail(output));

  const deadline = Date.now() + spec.timeoutMs;
  while (!(await spec.ready())) {
    if (exit !== undefined) throw new Error(`${spec.name} ${exit} before it was ready:\n${await why()}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${spec.name} was not ready within ${spec.timeoutMs / 1000} s:\n${await why()}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return {
    pid: child.pid,
    kill: async () => {
      if (exit === undefined) child.kill("SIGKILL");
      await exited;
      while (await spec.ready()) await new Promise((r) => setTimeout(r, POLL_MS));
    },
  };
}

/** A server a test kills and starts again, always from the same spec (same ports, same folder). */
export interface RestartableServer {
  /** Spawns it and resolves once it is ready (see spawnUntilReady). */
  start(): Promise<void>;
  /** Kills it if it runs (see RunningServer.kill); a no-op otherwise. */
  kill(): Promise<void>;
}

/** Wraps a spec into a server that can be killed and started again any number of times. */
export function restartableServer(spec: ServerSpec): RestartableServer {
  let running: RunningServer | undefined;
  return {
    start: async () => {
      running = await spawnUntilReady(spec);
    },
    kill: async () => {
      const r = running;
      running = undefined;
      await r?.kill();
    },
  };
}

/** A started server of a test's own that keeps its files in a folder of its own. */
export interface FolderServer extends RestartableServer {
  /** Kills it and removes its folder. */
  close(): Promise<void>;
}

/**
 * Starts a server whose files live in `dir`; its `close` (kill, then remove the folder) runs
 * after the test when `t` is given.
 */
export async function startFolderServer(spec: ServerSpec, dir: string, t?: { after(fn: () => Promise<void>): void }): Promise<FolderServer> {
  const server = restartableServer(spec);
  await server.start();
  const close = async () => {
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  };
  t?.after(close);
  return { ...server, close };
}
