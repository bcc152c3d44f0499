import { createLogger, createMetrics, createShutdown } from "@loopline/kit";
import { loadClickHouseSinkConfig } from "./config.js";
import { createClickHouseSinkService } from "./service.js";

async function main(): Promise<void> {
  const config = loadClickHouseSinkConfig(process.env);
  const logger = createLogger({ name: "clickhouse-sink", level: config.logLevel });
  const service = createClickHouseSinkService(config, { logger, metrics: createMetrics({ service: "clickhouse-sink" }) });
  const shutdown = createShutdown({ logger, graceMs: config.shutdownGraceMs });
  shutdown.add({ name: "clickhouse-sink", close: () => service.close() });
  await service.start();
}

main().catch((err: unknown) => {
  createLogger({ name: "clickhouse-sink" }).error("clickhouse-sink failed to start", { err });
  process.exit(1);
});
