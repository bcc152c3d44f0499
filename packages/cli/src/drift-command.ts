import { commonConfigSchema, createClickHouse, formatDuration, ident, loadConfig, parseDuration, queryRows, sql, UnavailableError } from "@loopline/kit";
import { out, parseFlags, reportFailure, stringFlag, switchFlag, UsageError, type Command, type CommandIO } from "./commands.js";
import { driftText, driftWindows, type DriftRow, type DriftWindowView } from "./drift-format.js";

const PATH = ["drift"];
const USAGE = "MODEL [--version V] [--route production|canary|shadow] [--segment S] [--since DURATION] [--json]";
const FLAGS = ["version", "route", "segment", "since", "json"];
const ROUTES = ["production", "canary", "shadow"];

/** What `loopline drift` was asked for. */
export interface DriftRequest {
  model: string;
  version?: string;
  route?: string;
  /** "" is all traffic. */
  segment?: string;
  /** Every window ending within this many ms; absent: only the latest window of each series. */
  sinceMs?: number;
  json: boolean;
}

/** Parses the command line of `loopline drift`; every mistake is a UsageError. */
export function parseDriftArgs(args: readonly string[]): DriftRequest {
  const { positional, flags } = parseFlags(args, FLAGS);
  // `--json fraud` reads as --json=fraud: say so rather than that MODEL is missing.
  const json = switchFlag(flags, "json");
  const [model, ...extra] = positional;
  if (model === undefined || model.trim() === "") throw new UsageError("MODEL is required");
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0] ?? ""}" (one MODEL at a time)`);
  const request: DriftRequest = { model, json };
  const version = stringFlag(flags, "version");
  if (version !== undefined) {
    if (version.trim() === "") throw new UsageError("--version needs a value");
    request.version = version;
  }
  const route = stringFlag(flags, "route");
  if (route !== undefined) {
    if (!ROUTES.includes(route)) throw new UsageError(`--route: "${route}" is not one of ${ROUTES.join(", ")}`);
    request.route = route;
  }
  const segment = stringFlag(flags, "segment");
  if (segment !== undefined) request.segment = segment;
  const since = stringFlag(flags, "since");
  if (since !== undefined) {
    const ms = parseDuration(since);
    if (ms === undefined || ms <= 0) throw new UsageError(`--since: "${since}" is not a duration like 30m, 1h, 7d`);
    request.sinceMs = ms;
  }
  return request;
}

/**
 * The SELECT of a request's report rows from drift_reports_dedup. Without a time range it keeps, per
 * version, route and segment, the report whose window ended last (a refresh of the same window keeps
 * its report_id, so ties on window_end go to the later report).
 */
export function driftSql(database: string, request: DriftRequest, nowMs: number): string {
  const filters = [sql`model = ${request.model}`];
  if (request.version !== undefined) filters.push(sql`model_version = ${request.version}`);
  if (request.route !== undefined) filters.push(sql`route = ${request.route}`);
  if (request.segment !== undefined) filters.push(sql`segment = ${request.segment}`);
  if (request.sinceMs !== undefined) filters.push(sql`window_end >= toDateTime(${Math.floor((nowMs - request.sinceMs) / 1000)})`);
  const from = sql`${ident(database)}.drift_reports_dedup`;
  const where = filters.join(" AND ");
  const latest =
    request.sinceMs === undefined
      ? ` AND report_id IN (SELECT argMax(report_id, tuple(window_end, time_ms)) FROM ${from} WHERE ${where} GROUP BY model_version, route, segment)`
      : "";
  return [
    "SELECT report_id, time_ms, model_version, route, segment,",
    "  toUnixTimestamp(window_start) AS window_start, toUnixTimestamp(window_end) AS window_end,",
    "  kind, column, method, statistic, p_value, threshold, drifted, n_reference, n_current,",
    "  missing_share_reference, missing_share_current",
    `FROM ${from}`,
    `WHERE ${where}${latest}`,
  ].join("\n");
}

/** What the request was narrowed to, for the no-report message: ` (version 3, route canary, in the last 1h)`. */
export function filterText(request: DriftRequest): string {
  const parts = [
    ...(request.version === undefined ? [] : [`version ${request.version}`]),
    ...(request.route === undefined ? [] : [`route ${request.route}`]),
    ...(request.segment === undefined ? [] : [request.segment === "" ? "all traffic" : `segment ${request.segment}`]),
    ...(request.sinceMs === undefined ? [] : [`window ending in the last ${formatDuration(request.sinceMs)}`]),
  ];
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}

/** The `--json` document: the database read, the request, and every window in DriftReport's field names. */
export function driftJson(database: string, request: DriftRequest, windows: readonly DriftWindowView[]): string {
  return JSON.stringify({
    database,
    model: request.model,
    filters: {
      version: request.version ?? null,
      route: request.route ?? null,
      segment: request.segment ?? null,
      sinceMs: request.sinceMs ?? null,
    },
    windows,
  });
}

const UNKNOWN_OBJECT = /\b(UNKNOWN_DATABASE|UNKNOWN_TABLE)\b|^Code: (60|81)\b/;

/** One line on stderr for a ClickHouse failure, exit 1; anything that is not one is rethrown. */
function reportClickHouseFailure(io: CommandIO, err: unknown, url: string, database: string): number {
  // UnavailableError's own message repeats "clickhouse unavailable"; its cause says why.
  const reason = err instanceof UnavailableError && err.cause !== undefined ? err.cause : err;
  const message = reason instanceof Error ? (reason.message.split("\n")[0] ?? "") : String(reason);
  const code = (err as { code?: unknown } | undefined)?.code;
  if (err instanceof UnavailableError || code === "ENOTFOUND" || code === "EAI_AGAIN") {
    io.err(`loopline drift: ClickHouse is unreachable at ${url} (LOOPLINE_CLICKHOUSE_URL): ${message}\n`);
  } else if (UNKNOWN_OBJECT.test(message)) {
    io.err(`loopline drift: ClickHouse at ${url} has no ${database}.drift_reports_dedup (LOOPLINE_CLICKHOUSE_DATABASE; run loopline migrate): ${message}\n`);
  } else if (err instanceof Error) {
    io.err(`loopline drift: ClickHouse at ${url} failed: ${message}\n`);
  } else {
    throw err;
  }
  return 1;
}

/** `loopline drift MODEL`: the latest drift report windows of a model, from ClickHouse. */
export const driftCommand: Command = {
  path: PATH,
  summary: "drift reports of a model from ClickHouse: the latest window per version, route and segment (or every window --since)",
  usage: USAGE,
  run: async (args, io) => {
    let request: DriftRequest;
    try {
      request = parseDriftArgs(args);
    } catch (err) {
      return reportFailure(io, PATH, USAGE, err);
    }
    const config = loadConfig({ clickhouseUrl: commonConfigSchema.clickhouseUrl, clickhouseDatabase: commonConfigSchema.clickhouseDatabase }, io.env);
    const database = config.clickhouseDatabase;
    const client = createClickHouse({ url: config.clickhouseUrl, requestTimeoutMs: 10_000 });
    let rows: DriftRow[];
    try {
      rows = await queryRows<DriftRow>(client, driftSql(database, request, Date.now()));
    } catch (err) {
      return reportClickHouseFailure(io, err, config.clickhouseUrl, database);
    } finally {
      await client.close();
    }
    const windows = driftWindows(rows);
    if (request.json) out(io, driftJson(database, request, windows));
    else if (windows.length === 0) out(io, `no drift reports for model "${request.model}"${filterText(request)} in ClickHouse database ${database}`);
    else out(io, driftText(request.model, windows));
    return 0;
  },
};
