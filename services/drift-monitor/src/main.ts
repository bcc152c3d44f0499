import { createLogger, createMetrics, createShutdown } from "@loopline/kit";
import { loadDriftMonitorConfig } from "./config.js";
import { createDriftMonitorService } from "./service.js";

async function main(): Promise<void> {
  const config = loadDriftMonitorConfig(process.env);
  const logger = createLogger({ name: "drift-monitor", level: config.logLevel });
  const service = createDriftMonitorService(config, { logger, metrics: createMetrics({ service: "drift-monitor" }) });
  const shutdown = createShutdown({ logger, graceMs: config.shutdownGraceMs });
  shutdown.add({ name: "drift-monitor", close: () => service.close() });
  await service.start();
}

main().catch((err: unknown) => {
  createLogger({ name: "drift-monitor" }).error("drift-monitor failed to start", { err });
  process.exit(1);
});
