import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { describeError, UnavailableError } from "./errors.js";

/** The ClickHouse client type handed out by the kit (@clickhouse/client over HTTP). */
export type ClickHouse = ClickHouseClient;

/** Options of createClickHouse. */
export interface ClickHouseOptions {
  /** HTTP endpoint, e.g. http://127.0.0.1:8123. */
  url: string;
  /** Default database for unqualified names. Default "default" (migrations create the real one). */
  database?: string;
  /** User. Default "default". */
  username?: string;
  /** Password. Default empty. */
  password?: string;
  /** Per-request timeout. Default 30000 ms. */
  requestTimeoutMs?: number;
}

/** Creates a ClickHouse HTTP client. Works with Debian's 18.16 for command, insert (JSONEachRow) and query. */
export function createClickHouse(options: ClickHouseOptions): ClickHouse {
  return createClient({
    url: options.url,
    database: options.database ?? "default",
    username: options.username ?? "default",
    password: options.password ?? "",
    request_timeout: options.requestTimeoutMs ?? 30_000,
    application: "loopline",
  });
}

/** True when ClickHouse answers a ping (readiness checks). */
export async function pingClickHouse(client: ClickHouse): Promise<boolean> {
  try {
    const r = await client.ping();
    return r.success;
  } catch {
    return false;
  }
}

/** Runs a SELECT and returns its rows as objects (JSONEachRow); infrastructure failures become UnavailableError. */
export async function queryRows<T = Record<string, unknown>>(client: ClickHouse, query: string): Promise<T[]> {
  try {
    const rs = await client.query({ query, format: "JSONEachRow" });
    return await rs.json<T>();
  } catch (err) {
    throw asClickHouseError(err);
  }
}

/** Runs a statement that returns no rows (DDL, INSERT ... SELECT). */
export async function execute(client: ClickHouse, query: string): Promise<void> {
  try {
    await client.command({ query });
  } catch (err) {
    throw asClickHouseError(err);
  }
}

/** Inserts rows with JSONEachRow. DateTime columns take 'YYYY-MM-DD hh:mm:ss' strings or unix seconds on 18.16. */
export async function insertRows(client: ClickHouse, table: string, rows: readonly Record<string, unknown>[]): Promise<void> {
  if (rows.length === 0) return;
  try {
    await client.insert({ table, values: rows as Record<string, unknown>[], format: "JSONEachRow" });
  } catch (err) {
    throw asClickHouseError(err);
  }
}

const NETWORK = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up|Timeout error|EHOSTUNREACH/i;

/** Connection-level failures become UnavailableError; server errors (bad SQL) keep their message. */
function asClickHouseError(err: unknown): Error {
  const { message } = describeError(err);
  if (NETWORK.test(message)) return new UnavailableError("clickhouse", message, { cause: err });
  return err instanceof Error ? err : new Error(message);
}

/** Reads the server version as [major, minor] (e.g. 18.16 → [18, 16]) to switch features on. */
export async function serverVersion(client: ClickHouse): Promise<[number, number]> {
  const rows = await queryRows<{ v: string }>(client, "SELECT version() AS v");
  const parts = (rows[0]?.v ?? "0.0").split(".").map(Number);
  return [parts[0] ?? 0, parts[1] ?? 0];
}
