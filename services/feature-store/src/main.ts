import { createLogger, createMetrics, createShutdown } from "@loopline/kit";
import { loadFeatureStoreConfig } from "./config.js";
import { createFeatureStoreService } from "./service.js";

async function main(): Promise<void> {
  const config = loadFeatureStoreConfig(process.env);
  const logger = createLogger({ name: "feature-store", level: config.logLevel });
  const service = createFeatureStoreService(config, { logger, metrics: createMetrics({ service: "feature-store" }) });
  const shutdown = createShutdown({ logger, graceMs: config.shutdownGraceMs });
  shutdown.add({ name: "feature-store", close: () => service.close() });
  await service.start();
}

main().catch((err: unknown) => {
  createLogger({ name: "feature-store" }).error("feature-store failed to start", { err });
  process.exit(1);
});
