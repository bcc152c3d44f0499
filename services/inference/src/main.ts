// Entry point: config from the environment, build, start, one shutdown hook.
import { createLogger, createShutdown } from "@loopline/kit";
import { loadInferenceConfig } from "./config.js";
import { createInferenceService, SERVICE_NAME } from "./service.js";

async function main(): Promise<void> {
  const config = loadInferenceConfig(process.env);
  const logger = createLogger({ name: SERVICE_NAME, level: config.logLevel });
  const service = createInferenceService(config, { logger });
  const shutdown = createShutdown({ logger, graceMs: config.shutdownGraceMs });
  shutdown.add({ name: "inference", close: () => service.close() });
  await service.start();
}

main().catch((err: unknown) => {
  createLogger({ name: SERVICE_NAME }).error("inference failed to start", { err });
  process.exit(1);
});
