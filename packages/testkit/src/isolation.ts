import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import {
  applyMigrations,
  createClickHouse,
  createKafka,
  createLogger,
  createRedis,
  deleteKeysMatching,
  execute,
  quoteIdentifier,
  silentLogger,
  type ClickHouse,
  type KafkaKit,
  type Logger,
  type RedisClient,
} from "@loopline/kit";
import { awaitStack, type StackEndpoints } from "./stack.js";

/** The repository's ClickHouse migrations folder. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../infra/clickhouse", import.meta.url));

/** A test's private slice of the shared stack: its own topic prefix, Redis key prefix and ClickHouse database. */
export interface IsolatedStack {
  /** Short unique id of this test run, e.g. "t3f9a0c1d". */
  id: string;
  /** Topic prefix, e.g. "test.t3f9a0c1d." — every topic the test creates must start with it. */
  topicPrefix: string;
  /** Redis key prefix, e.g. "test:t3f9a0c1d:" — applied by `redis` automatically. */
  redisPrefix: string;
  /** ClickHouse database, e.g. "test_t3f9a0c1d" (migrated when `migrate` was asked for). */
  database: string;
  endpoints: StackEndpoints;
  kafka: KafkaKit;
  /** A request-mode Redis client with the key prefix applied. */
  redis: RedisClient;
  /** A ClickHouse client whose default database is the private one. */
  clickhouse: ClickHouse;
  logger: Logger;
  /** Deletes the topics, keys and database; runs automatically when registered with `t.after`. */
  cleanup(): Promise<void>;
}

/** Options of isolateStack. */
export interface IsolateOptions {
  /** Create the private ClickHouse database and apply the migrations. Default false. */
  migrate?: boolean;
  /** Log to stderr at this level (debugging a test). Default: silent. */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** Keep everything after the test for inspection. Default: LOOPLINE_TEST_KEEP=1. */
  keep?: boolean;
}

/**
 * Waits for the stack and returns isolated handles; pass `t` (node:test context) to clean up after
 * the test: `const s = await isolateStack(t)`.
 */
export async function isolateStack(t: { after(fn: () => Promise<void>): void } | undefined, options: IsolateOptions = {}): Promise<IsolatedStack> {
  const endpoints = await awaitStack();
  const id = `t${randomBytes(4).toString("hex")}`;
  const logger =
    options.logLevel === undefined ? silentLogger : createLogger({ name: `test-${id}`, level: options.logLevel, write: (l) => void process.stderr.write(l) });
  const topicPrefix = `test.${id}.`;
  const redisPrefix = `test:${id}:`;
  const database = `test_${id}`;
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: `test-${id}`, logger, clientLogLevel: "error" });
  const redis = createRedis({ url: endpoints.redisUrl, logger, keyPrefix: redisPrefix, mode: "background" });
  const admin = createClickHouse({ url: endpoints.clickhouseUrl });
  if (options.migrate === true) {
    await applyMigrations({ client: admin, database, dir: MIGRATIONS_DIR, logger });
  } else {
    await execute(admin, `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}`);
  }
  const clickhouse = createClickHouse({ url: endpoints.clickhouseUrl, database });
  const keep = options.keep ?? process.env["LOOPLINE_TEST_KEEP"] === "1";

  const cleanup = async () => {
    try {
      if (!keep) {
        const topics = (await kafka.listTopics()).filter((name) => name.startsWith(topicPrefix));
        await kafka.deleteTopics(topics);
        await deleteKeysMatching(redis, `${redisPrefix}*`);
        await execute(admin, `DROP DATABASE IF EXISTS ${quoteIdentifier(database)}`);
      }
    } finally {
      await Promise.allSettled([kafka.close(), clickhouse.close(), admin.close()]);
      redis.disconnect();
    }
  };
  t?.after(cleanup);
  return { id, topicPrefix, redisPrefix, database, endpoints, kafka, redis, clickhouse, logger, cleanup };
}
