import { Redis } from "ioredis";
import { UnavailableError } from "./errors.js";
import type { Logger } from "./log.js";

/** The Redis client type handed out by the kit (ioredis). */
export type RedisClient = Redis;

/** Options of createRedis. */
export interface RedisOptions {
  /** redis:// URL. */
  url: string;
  /** Logger for connection errors (an `error` listener is always attached). */
  logger: Logger;
  /**
   * "request": for request paths — no offline queue, 1 retry, commands fail fast while disconnected
   * so callers answer UNAVAILABLE instead of piling up memory. "background": for ingest loops — a
   * bounded retry count; callers back off and retry whole batches. Default "request".
   */
  mode?: "request" | "background";
  /** Per-command timeout. Default 1000 ms for "request", 10000 ms for "background". */
  commandTimeoutMs?: number;
  /** Key prefix applied to every key (test isolation). Default none. */
  keyPrefix?: string;
  /** Connection name shown in CLIENT LIST. */
  connectionName?: string;
}

/**
 * Creates an ioredis client with bounded retries and an error listener. It starts connecting at once;
 * request-mode clients reject commands until connected, so await `connectRedis` before serving.
 */
export function createRedis(options: RedisOptions): RedisClient {
  const mode = options.mode ?? "request";
  const log = options.logger.child({ component: "redis" });
  const client = new Redis(options.url, {
    enableOfflineQueue: mode === "background",
    maxRetriesPerRequest: mode === "request" ? 1 : 3,
    commandTimeout: options.commandTimeoutMs ?? (mode === "request" ? 1000 : 10_000),
    connectTimeout: 3000,
    // Reconnect forever with a capped delay: the process should recover by itself when Redis returns.
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
    ...(options.keyPrefix !== undefined ? { keyPrefix: options.keyPrefix } : {}),
    ...(options.connectionName !== undefined ? { connectionName: options.connectionName } : {}),
  });
  let lastError = "";
  client.on("error", (err: Error) => {
    // Log each distinct error once per outage rather than on every reconnect attempt.
    if (err.message !== lastError) log.warn("redis connection error", { err });
    lastError = err.message;
  });
  client.on("ready", () => {
    if (lastError !== "") log.info("redis connection restored");
    lastError = "";
  });
  return client;
}

/** True when Redis answers PING (readiness checks). */
export async function pingRedis(client: RedisClient): Promise<boolean> {
  try {
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  }
}

/** Waits until the client is connected and ready, or throws UnavailableError after the timeout. */
export async function connectRedis(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (client.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off("ready", onReady);
      reject(new UnavailableError("redis", `not ready after ${timeoutMs}ms (status ${client.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once("ready", onReady);
  });
}

/**
 * Deletes every key matching a SCAN pattern (full key names: the client's keyPrefix does not apply
 * to patterns), except those `keep` spares, in batches with UNLINK. Returns how many were deleted.
 */
export async function deleteKeysMatching(client: RedisClient, pattern: string, keep: (key: string) => boolean = () => false): Promise<number> {
  const prefix = client.options.keyPrefix ?? "";
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    // Returned keys carry the client's keyPrefix, which the client adds again: strip it first.
    const doomed = keys.filter((k) => !keep(k)).map((k) => (k.startsWith(prefix) ? k.slice(prefix.length) : k));
    if (doomed.length > 0) deleted += await client.unlink(...doomed);
  } while (cursor !== "0");
  return deleted;
}
