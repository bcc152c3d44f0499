import { createLogger, createMetrics, createShutdown } from "@loopline/kit";
import { loadRetrainConfig } from "./config.js";
import { createRetrainService } from "./service.js";

async function main(): Promise<void> {
  const config = loadRetrainConfig(process.env);
  const logger = createLogger({ name: "retrain-trigger", level: config.logLevel });
  const service = createRetrainService(config, { logger, metrics: createMetrics({ service: "retrain-trigger" }) });
  const shutdown = createShutdown({ logger, graceMs: config.shutdownGraceMs });
  shutdown.add({ name: "retrain-trigger", close: () => service.close() });
  await service.start();
}

main().catch((err: unknown) => {
  createLogger({ name: "retrain-trigger" }).error("retrain-trigger failed to start", { err });
  process.exit(1);
});
