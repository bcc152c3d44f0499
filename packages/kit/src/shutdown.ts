import type { Logger } from "./log.js";

/** Something that can be closed during shutdown. */
export interface Closeable {
  /** Name in shutdown logs. */
  name: string;
  /** Stops the component; should stop intake first and drain what it holds. */
  close: () => Promise<void> | void;
}

/** Options of createShutdown. */
export interface ShutdownOptions {
  /** Logger for progress. */
  logger: Logger;
  /** How long all closes together may take before the process is forced down. Default 15000 ms. */
  graceMs?: number;
  /** Register SIGINT/SIGTERM handlers. Default true (false in tests). */
  handleSignals?: boolean;
  /** Called after shutdown with the exit code. Default process.exit. */
  exit?: (code: number) => void;
}

/** The process's one shutdown hook: closes registered components in reverse order of registration. */
export interface Shutdown {
  /** Registers a component; components close in reverse order of registration. */
  add(component: Closeable): void;
  /** Runs the shutdown once (later calls return the same promise); resolves with the exit code. */
  run(reason: string): Promise<number>;
  /** Whether shutdown has started (loops use it to stop taking work). */
  readonly stopping: boolean;
}

/** Creates the shutdown hook and, by default, binds it to SIGINT and SIGTERM. */
export function createShutdown(options: ShutdownOptions): Shutdown {
  const { logger } = options;
  const graceMs = options.graceMs ?? 15_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const components: Closeable[] = [];
  let running: Promise<number> | undefined;

  const closeAll = async (reason: string): Promise<number> => {
    logger.info("shutting down", { reason, components: components.map((c) => c.name).reverse() });
    let code = 0;
    const deadline = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref());
    const sequence = (async () => {
      for (const c of [...components].reverse()) {
        const started = Date.now();
        try {
          await c.close();
          logger.info("closed", { component: c.name, ms: Date.now() - started });
        } catch (err) {
          code = 1;
          logger.error("close failed", { component: c.name, err });
        }
      }
      return "done" as const;
    })();
    if ((await Promise.race([sequence, deadline])) === "timeout") {
      logger.error("shutdown grace period exceeded; forcing exit", { graceMs });
      return 1;
    }
    return code;
  };

  const shutdown: Shutdown = {
    add: (c) => {
      components.push(c);
    },
    run: (reason) => {
      running ??= closeAll(reason);
      return running;
    },
    get stopping() {
      return running !== undefined;
    },
  };

  if (options.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals) => {
      if (running !== undefined) {
        logger.warn("second signal: exiting now", { signal });
        exit(130);
        return;
      }
      shutdown.run(signal).then(exit, () => exit(1));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  return shutdown;
}
