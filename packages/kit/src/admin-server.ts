import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import { describeError } from "./errors.js";

/** A named readiness check; it throws or returns false when its dependency is unreachable. */
export interface ReadinessCheck {
  /** Dependency name shown in /readyz, e.g. "kafka". */
  name: string;
  /** Resolves true when reachable. Should finish within the check timeout. */
  check: () => Promise<boolean>;
}

/** Options of createAdminServer. */
export interface AdminServerOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Interface to bind. Default "127.0.0.1"; use "0.0.0.0" in containers. */
  host?: string;
  /** Registry rendered on GET /metrics. */
  metrics: Metrics;
  /** Dependencies checked on GET /readyz. Default none. */
  readiness?: readonly ReadinessCheck[];
  /** Per-check timeout in ms. Default 2000. */
  checkTimeoutMs?: number;
  /** Logger for failures. */
  logger: Logger;
}

/** The admin HTTP server: /metrics (Prometheus), /healthz (alive), /readyz (dependencies). */
export interface AdminServer {
  /** The bound port. */
  readonly port: number;
  /** Marks the process as draining: /readyz answers 503 from now on. */
  setDraining(): void;
  /** Stops listening. */
  close(): Promise<void>;
}

/** Starts the admin HTTP server and resolves once it listens. */
export async function createAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const checks = options.readiness ?? [];
  const timeoutMs = options.checkTimeoutMs ?? 2000;
  let draining = false;

  const runCheck = async (c: ReadinessCheck): Promise<{ name: string; ok: boolean; error?: string }> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const ok = await Promise.race([
        c.check(),
        new Promise<boolean>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs}ms`)), timeoutMs);
        }),
      ]);
      return { name: c.name, ok };
    } catch (err) {
      return { name: c.name, ok: false, error: describeError(err).message };
    } finally {
      clearTimeout(timer);
    }
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, body: string, type = "application/json") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (req.method !== "GET") return reply(405, JSON.stringify({ error: "GET only" }));
    if (path === "/healthz") return reply(200, JSON.stringify({ status: "ok" }));
    if (path === "/metrics") {
      options.metrics.registry
        .metrics()
        .then((text) => reply(200, text, options.metrics.registry.contentType))
        .catch((err: unknown) => reply(500, JSON.stringify({ error: describeError(err).message })));
      return;
    }
    if (path === "/readyz") {
      Promise.all(checks.map(runCheck))
        .then((results) => {
          const ok = !draining && results.every((r) => r.ok);
          if (!ok) options.logger.warn("not ready", { checks: results, draining });
          reply(ok ? 200 : 503, JSON.stringify({ status: ok ? "ready" : draining ? "draining" : "not ready", checks: results }));
        })
        .catch((err: unknown) => reply(500, JSON.stringify({ error: describeError(err).message })));
      return;
    }
    return reply(404, JSON.stringify({ error: "not found", paths: ["/metrics", "/healthz", "/readyz"] }));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info("admin server listening", { port, paths: ["/metrics", "/healthz", "/readyz"] });
  return {
    port,
    setDraining: () => {
      draining = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
