import { mkdtemp } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { startFolderServer, type ServerSpec } from "./server-process.js";

/** A redis-server of the test's own (Debian's binary, installed by infra/local), to stop and restart at will. */
export interface PrivateRedis {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Kills the server (SIGKILL: an outage, not a clean stop) and waits until it no longer answers. */
  kill(): Promise<void>;
  /** Starts it again on the same port; data written before the kill is gone unless `appendOnly` was asked for. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

/** Options of startPrivateRedis. */
export interface PrivateRedisOptions {
  /**
   * Keep an append-only file, as infra/local's Redis does (fsync every second), so what it
   * acknowledged survives a kill of the process: an outage rather than a loss of data. Default false.
   */
  appendOnly?: boolean;
}

const START_TIMEOUT_MS = 10_000;

/** True when a server on the port answers PING with PONG (a loading server answers -LOADING). */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let reply = "";
    const done = (ok: boolean) => (s.destroy(), resolve(ok));
    s.setTimeout(1000, () => done(false));
    s.once("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => {
      reply += d.toString("latin1");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    s.once("error", () => done(false));
    s.once("end", () => done(false));
  });
}

/** Starts a private redis-server on a free port; register `close` with t.after (done when `t` is given). */
export async function startPrivateRedis(t?: { after(fn: () => Promise<void>): void }, options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "loopline-redis-"));
  const spec: ServerSpec = {
    name: `private redis-server on ${port}`,
    command: "redis-server",
    args: ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...(options.appendOnly === true ? ["--appendonly", "yes", "--appendfsync", "everysec"] : ["--appendonly", "no"])],
    ready: () => pong(port),
    timeoutMs: START_TIMEOUT_MS,
  };
  const server = await startFolderServer(spec, dir, t);
  return { url: `redis://127.0.0.1:${port}`, port, ...server };
}
