import { createLogger, createMetrics, createShutdown } from "@loopline/kit";
import { loadFeatureIngestConfig } from "./config.js";
import { createFeatureIngestService } from "./service.js";

async function main(): Promise<void> {
  const config = loadFeatureIngestConfig(process.env);
  const logger = createLogger({ name: "feature-ingest", level: config.logLevel });
  const service = createFeatureIngestService(config, { logger, metrics: createMetrics({ service: "feature-ingest" }) });
  const shutdown = createShutdown({ logger, graceMs: config.shutdownGraceMs });
  shutdown.add({ name: "feature-ingest", close: () => service.close() });
  await service.start();
}

main().catch((err: unknown) => {
  createLogger({ name: "feature-ingest" }).error("feature-ingest failed to start", { err });
  process.exit(1);
});
