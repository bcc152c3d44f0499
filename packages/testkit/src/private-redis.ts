import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";

/** A redis-server of the test's own (Debian's binary, installed by infra/local), to stop and restart at will. */
export interface PrivateRedis {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Kills the server (SIGKILL: an outage, not a clean stop). */
  kill(): Promise<void>;
  /** Starts it again on the same port; data written before the kill is gone unless it was saved. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

async function waitForPort(port: number, up: boolean, timeoutMs: number): Promise<void> {
  const { connect } = await import("node:net");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (open === up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis on ${port} did not ${up ? "start" : "stop"} within ${timeoutMs}ms`);
}

/** Starts a private redis-server on a free port; register `close` with t.after. */
export async function startPrivateRedis(t?: { after(fn: () => Promise<void>): void }): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "loopline-redis-"));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    child.once("error", () => undefined);
    await waitForPort(port, true, 10_000);
  };
  const kill = async () => {
    child?.kill("SIGKILL");
    child = undefined;
    await waitForPort(port, false, 10_000);
  };
  await start();
  const handle: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    start,
    close: async () => {
      if (child !== undefined) await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  t?.after(handle.close);
  return handle;
}
