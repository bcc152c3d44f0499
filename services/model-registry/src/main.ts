import { createAdminServer, createLogger, createMetrics, createShutdown, describeError } from "@loopline/kit";
import { loadRegistryConfig } from "./config.js";
import { createRegistryService } from "./service.js";

async function main(): Promise<void> {
  const config = loadRegistryConfig(process.env);
  const logger = createLogger({ name: "model-registry", level: config.logLevel });
  const metrics = createMetrics({ service: "model-registry" });
  const service = createRegistryService(config, { logger, metrics });
  const shutdown = createShutdown({ logger, graceMs: config.shutdownGraceMs });
  // The admin server comes up first so /healthz answers during the replay; /readyz waits for it.
  const admin = await createAdminServer({
    port: config.adminPort,
    host: config.adminHost,
    metrics,
    logger,
    readiness: [
      { name: "replayed", check: () => Promise.resolve(service.isReady()) },
      { name: "kafka", check: () => service.kafka.ping() },
    ],
  });
  shutdown.add({ name: "admin", close: () => admin.close() });
  shutdown.add({ name: "registry", close: () => service.close(Math.max(1000, config.shutdownGraceMs - 2000)) });
  shutdown.add({ name: "readiness", close: () => admin.setDraining() });
  await service.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: "error", service: "model-registry", msg: "fatal", err: describeError(err) })}\n`);
  process.exit(1);
});
