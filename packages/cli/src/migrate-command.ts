import { fileURLToPath } from "node:url";
import { applyMigrations, commonConfigSchema, createClickHouse, createLogger, loadConfig } from "@loopline/kit";
import { parseFlags, reportFailure, table, usageFlags, type Command } from "./commands.js";

const USAGE = "[--dir infra/clickhouse] [--database loopline] [--json]";
const DEFAULT_DIR = fileURLToPath(new URL("../../../infra/clickhouse", import.meta.url));

/** `loopline migrate`: applies infra/clickhouse migrations to LOOPLINE_CLICKHOUSE_DATABASE. */
export const migrateCommand: Command = {
  path: ["migrate"],
  summary: "apply the ClickHouse migrations (idempotent)",
  usage: USAGE,
  run: async (args, io) => {
    let flags: Map<string, string | true>;
    try {
      flags = parseFlags(args, usageFlags(USAGE)).flags;
    } catch (err) {
      return reportFailure(io, ["migrate"], USAGE, err);
    }
    const config = loadConfig(
      { clickhouseUrl: commonConfigSchema.clickhouseUrl, clickhouseDatabase: commonConfigSchema.clickhouseDatabase },
      io.env,
    );
    const database = typeof flags.get("database") === "string" ? (flags.get("database") as string) : config.clickhouseDatabase;
    const dir = typeof flags.get("dir") === "string" ? (flags.get("dir") as string) : DEFAULT_DIR;
    const client = createClickHouse({ url: config.clickhouseUrl });
    try {
      const logger = createLogger({ name: "loopline-migrate", level: "warn", write: io.err });
      const outcomes = await applyMigrations({ client, database, dir, logger });
      if (flags.has("json")) io.out(`${JSON.stringify({ database, outcomes })}\n`);
      else {
        io.out(`${table(["version", "name", "status"], outcomes.map((o) => [String(o.version).padStart(4, "0"), o.name, o.status]))}\n`);
        const applied = outcomes.filter((o) => o.status === "applied").length;
        io.out(`${database}: ${applied} applied, ${outcomes.length - applied} unchanged or skipped\n`);
      }
      return 0;
    } finally {
      await client.close();
    }
  },
};
