import { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type Logger as ClientLogger, type LogParams } from "@clickhouse/client";
import { describeError, UnavailableError } from "./errors.js";
import { silentLogger, type Logger } from "./log.js";
import { quoteIdentifier, quoteString } from "./sql.js";

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
  /**
   * Where the client's own log lines go: its warnings at warn, its request errors at debug (they are
   * also thrown to the caller, who knows what failed and logs it once). Default: nowhere.
   */
  logger?: Logger;
}

/**
 * @clickhouse/client's logger, redirected into a kit logger. Its default logger prints a multi-line
 * ERROR block to the console for every failed request, so an outage retried with backoff floods
 * stderr with text no log pipeline can parse, on top of the caller's own structured line.
 */
function clientLoggerClass(logger: Logger): new () => ClientLogger {
  // The request's params (the body stream, settings) stay out of the line: only what identifies it.
  const fields = (p: LogParams, err?: Error) => ({ module: p.module, query_id: p.args?.["query_id"], ...(err === undefined ? {} : { err }) });
  return class KitClickHouseLogger implements ClientLogger {
    trace(p: LogParams) {
      logger.debug(`clickhouse client: ${p.message}`, fields(p));
    }
    debug(p: LogParams) {
      logger.debug(`clickhouse client: ${p.message}`, fields(p));
    }
    info(p: LogParams) {
      logger.debug(`clickhouse client: ${p.message}`, fields(p));
    }
    warn(p: LogParams & { err?: Error }) {
      logger.warn(`clickhouse client: ${p.message}`, fields(p, p.err));
    }
    error(p: LogParams & { err: Error }) {
      logger.debug(`clickhouse client: ${p.message}`, fields(p, p.err));
    }
  };
}

/** Creates a ClickHouse HTTP client. Works with Debian's 18.16 for command, insert (JSONEachRow, RowBinary) and query. */
export function createClickHouse(options: ClickHouseOptions): ClickHouse {
  const logger = options.logger ?? silentLogger;
  return createClient({
    url: options.url,
    database: options.database ?? "default",
    username: options.username ?? "default",
    password: options.password ?? "",
    request_timeout: options.requestTimeoutMs ?? 30_000,
    application: "loopline",
    log: { LoggerClass: clientLoggerClass(logger), level: logger.enabled("debug") ? ClickHouseLogLevel.DEBUG : ClickHouseLogLevel.WARN },
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

/** Formats of pre-encoded bodies insertEncoded sends; both are read by 18.16 and current ClickHouse. */
export type EncodedFormat = "RowBinary" | "TabSeparated";
const ENCODED_FORMATS: ReadonlySet<string> = new Set<EncodedFormat>(["RowBinary", "TabSeparated"]);

/** `table` or `database.table`, each part quoted. */
function tableReference(table: string): string {
  const dot = table.indexOf(".");
  return dot < 0 ? quoteIdentifier(table) : `${quoteIdentifier(table.slice(0, dot))}.${quoteIdentifier(table.slice(dot + 1))}`;
}

/**
 * Inserts rows already encoded in `format` (e.g. by RowBinaryWriter): `INSERT INTO table (columns)
 * FORMAT <format>` with the chunks as the request body, sent as they are (no copy, no JSON). The
 * columns are the body's, in its order; the table's other columns take their defaults. `table` is a
 * name in the client's database or `database.table`. Infrastructure failures become UnavailableError.
 */
export async function insertEncoded(
  client: ClickHouse,
  table: string,
  columns: readonly string[],
  format: EncodedFormat,
  body: Uint8Array | readonly Uint8Array[],
): Promise<void> {
  const chunks = body instanceof Uint8Array ? [body] : body;
  if (chunks.every((c) => c.length === 0)) return;
  if (!ENCODED_FORMATS.has(format)) throw new RangeError(`unsupported insert format ${String(format)}`);
  if (columns.length === 0) throw new RangeError("insertEncoded needs the body's columns");
  const query = `INSERT INTO ${tableReference(table)} (${columns.map(quoteIdentifier).join(", ")}) FORMAT ${format}`;
  try {
    const result = await client.exec({ query, values: Readable.from(chunks.filter((c) => c.length > 0)) });
    // The answer to an INSERT is empty; read it to the end so the socket goes back to the pool.
    await finished(result.stream.resume());
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

// --- RowBinary: ClickHouse's native row format (18.16 and current alike). No names, no escaping, no
// number-to-text conversions on either side: the cheapest body to build and to parse. Every value is
// written as its column's type says, so the column list and types must match the table exactly
// (checkColumns verifies them against system.columns).

/** Column types RowBinaryWriter and encodeRowBinary support. */
export type RowBinaryType =
  | "String"
  | "UInt8"
  | "UInt32"
  | "UInt64"
  | "Float64"
  | "DateTime"
  | "Array(String)"
  | "Array(UInt8)"
  | "Array(Float64)";

/** A column of a RowBinary body: its name and ClickHouse type, in the body's order. */
export interface RowBinaryColumn {
  name: string;
  type: RowBinaryType;
}

const TWO_32 = 4_294_967_296;
const MAX_UINT64 = 18_446_744_073_709_551_615n;
const DECIMAL = /^\d+$/;
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const EMPTY = Buffer.alloc(0);

/**
 * Appends RowBinary values to a growing buffer; `take()` hands over what was written. Strings are
 * LEB128 length + UTF-8 bytes, numbers little-endian, DateTime UInt32 seconds, arrays a LEB128 count
 * then the elements.
 */
// Hot path: every row the clickhouse-sink writes goes through here; guarded by bench/sink.bench.ts.
export class RowBinaryWriter {
  private buf: Buffer;
  private pos = 0;
  /** Size of the next buffer: the last body's, so a writer reused for similar bodies rarely grows. */
  private nextBytes: number;

  /** `initialBytes`: first buffer size (it doubles as needed). Default 64 KiB. */
  constructor(initialBytes = 65_536) {
    this.nextBytes = Math.max(16, Math.ceil(initialBytes));
    this.buf = EMPTY;
  }

  /** Bytes written since the last take(). */
  get length(): number {
    return this.pos;
  }

  /** The bytes written so far; the writer starts over on a fresh buffer (the returned one is never reused). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    if (this.pos > 0) this.nextBytes = this.pos;
    this.buf = EMPTY; // the next buffer is allocated when something is written
    this.pos = 0;
    return out;
  }

  /** Makes room for n more bytes. */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n, this.nextBytes));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A LEB128 unsigned integer < 2^32 (string lengths, array sizes). */
  varUInt(n: number): void {
    this.room(5);
    const b = this.buf;
    let p = this.pos;
    while (n >= 0x80) {
      b[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    b[p++] = n;
    this.pos = p;
  }

  /** UInt8; the caller guarantees 0..255. */
  uint8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  /** UInt32 (also DateTime); the caller guarantees 0..2^32-1. */
  uint32(v: number): void {
    this.room(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v;
    b[p + 1] = v >>> 8;
    b[p + 2] = v >>> 16;
    b[p + 3] = v >>> 24;
    this.pos = p + 4;
  }

  /** UInt64 from a non-negative integer number below 2^64 (the double's exact value beyond 2^53). */
  uint64(v: number): void {
    if (v > Number.MAX_SAFE_INTEGER) return this.uint64Big(BigInt(v));
    const hi = Math.floor(v / TWO_32);
    this.uint32(v - hi * TWO_32);
    this.uint32(hi);
  }

  /** UInt64 from a bigint (0 … 2^64-1). */
  uint64Big(v: bigint): void {
    this.room(8);
    this.buf.writeBigUInt64LE(v, this.pos);
    this.pos += 8;
  }

  /** UInt64 from its decimal text (Kafka offsets, sequences); throws on anything else. */
  uint64Decimal(text: string): void {
    const n = text.length;
    if (n === 0 || n > 15) return this.uint64Big(toUInt64(text));
    let v = 0;
    for (let i = 0; i < n; i++) {
      const digit = text.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) throw new TypeError(`not a UInt64: ${JSON.stringify(text)}`);
      v = v * 10 + digit;
    }
    this.uint64(v);
  }

  /** Float64, little-endian IEEE 754; -0 is written as 0 (as JSON would have). */
  float64(v: number): void {
    this.room(8);
    F64[0] = v + 0;
    const b = this.buf;
    const p = this.pos;
    for (let i = 0; i < 8; i++) b[p + i] = F64_BYTES[i] as number;
    this.pos = p + 8;
  }

  /** String from JS text, as UTF-8 (lone surrogates become U+FFFD). */
  string(s: string): void {
    const n = s.length;
    if (n < 128) {
      // Short ASCII text, the common case, copied char by char: cheaper than a call into Buffer.write.
      this.room(n + 1);
      const b = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p++] = c;
      }
      if (i === n) {
        b[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, "utf8");
    this.varUInt(bytes);
    this.room(bytes);
    this.pos += this.buf.write(s, this.pos, bytes, "utf8");
  }

  /** String from bytes that are already valid UTF-8 (copied as they are). */
  utf8(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n >= 0x80) {
      this.varUInt(n);
      return this.raw(src, start, end);
    }
    this.room(n + 1);
    const b = this.buf;
    let p = this.pos;
    b[p++] = n;
    if (n <= 32) for (let i = start; i < end; i++) b[p++] = src[i] as number;
    else b.set(src.subarray(start, end), p);
    this.pos = this.pos + 1 + n;
  }

  /** Bytes appended as they are, with no length: the caller builds a value from several pieces. */
  raw(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.room(n);
    const b = this.buf;
    if (n <= 32) {
      let p = this.pos;
      for (let i = start; i < end; i++) b[p++] = src[i] as number;
    } else {
      b.set(src.subarray(start, end), this.pos);
    }
    this.pos += n;
  }
}

function toUInt64(text: string): bigint {
  if (!DECIMAL.test(text)) throw new TypeError(`not a UInt64: ${JSON.stringify(text)}`);
  const v = BigInt(text);
  if (v > MAX_UINT64) throw new RangeError(`UInt64 out of range: ${text}`);
  return v;
}

const FLOAT_WORDS: Readonly<Record<string, number>> = { nan: Number.NaN, "-nan": Number.NaN, inf: Infinity, "+inf": Infinity, "-inf": -Infinity };

type ValueWriter = (w: RowBinaryWriter, v: unknown, column: string) => void;

const bad = (column: string, type: string, v: unknown): TypeError =>
  new TypeError(`column ${column} (${type}) cannot hold ${typeof v === "string" ? JSON.stringify(v) : String(v)}`);

const unsigned = (bits: 8 | 32): ValueWriter => {
  const max = bits === 8 ? 255 : TWO_32 - 1;
  return (w, v, column) => {
    const n = typeof v === "boolean" ? (v ? 1 : 0) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > max) throw bad(column, `UInt${bits}`, v);
    if (bits === 8) w.uint8(n);
    else w.uint32(n);
  };
};

const VALUE_WRITERS: Readonly<Record<string, ValueWriter>> = {
  String: (w, v, column) => {
    if (typeof v !== "string") throw bad(column, "String", v);
    w.string(v);
  },
  UInt8: unsigned(8),
  UInt32: unsigned(32),
  UInt64: (w, v, column) => {
    if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 2 ** 64) w.uint64(v);
    else if (typeof v === "bigint" && v >= 0n && v <= MAX_UINT64) w.uint64Big(v);
    else if (typeof v === "string" && DECIMAL.test(v) && (v.length <= 15 || BigInt(v) <= MAX_UINT64)) w.uint64Decimal(v);
    else throw bad(column, "UInt64", v);
  },
  Float64: (w, v, column) => {
    if (typeof v === "number") w.float64(v);
    else if (typeof v === "string" && Object.hasOwn(FLOAT_WORDS, v.toLowerCase())) w.float64(FLOAT_WORDS[v.toLowerCase()] as number);
    else throw bad(column, "Float64", v);
  },
  DateTime: (w, v, column) => {
    // Unix seconds or a Date (text would be read in the server's time zone, so it is not accepted).
    const n = v instanceof Date ? Math.floor(v.getTime() / 1000) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n >= TWO_32) throw bad(column, "DateTime", v);
    w.uint32(n);
  },
};

function valueWriter(type: RowBinaryType): ValueWriter {
  const array = /^Array\((.+)\)$/.exec(type);
  if (array === null) {
    const write = VALUE_WRITERS[type];
    if (write === undefined) throw new RangeError(`unsupported RowBinary type ${type}`);
    return write;
  }
  const element = valueWriter(array[1] as RowBinaryType);
  return (w, v, column) => {
    if (!Array.isArray(v)) throw bad(column, type, v);
    w.varUInt(v.length);
    for (const x of v) element(w, x, column);
  };
}

/**
 * Appends rows (objects keyed by column name, in the forms JSONEachRow rows take: UInt64 as number,
 * bigint or decimal text; Float64 as a number or "nan"/"inf"/"-inf"; DateTime as unix seconds or a
 * Date; booleans for UInt8) to a writer in RowBinary. Throws a TypeError naming the column when a
 * value does not fit its type, so a bad row never reaches ClickHouse as misaligned bytes.
 */
export function encodeRowBinary(columns: readonly RowBinaryColumn[], rows: readonly Record<string, unknown>[], writer = new RowBinaryWriter()): RowBinaryWriter {
  const encode = createRowBinaryEncoder(columns);
  for (const row of rows) encode(writer, row);
  return writer;
}

/** encodeRowBinary for one row at a time, with the per-column writers worked out once. */
export function createRowBinaryEncoder(columns: readonly RowBinaryColumn[]): (writer: RowBinaryWriter, row: Record<string, unknown>) => void {
  const names = columns.map((c) => c.name);
  const writers = columns.map((c) => valueWriter(c.type));
  return (writer, row) => {
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      (writers[i] as ValueWriter)(writer, row[name], name);
    }
  };
}

/**
 * Checks that a table has these columns with exactly these types (RowBinary carries no names or
 * types, so a mismatch would otherwise be read as garbage or refused far from its cause). Throws an
 * Error naming every difference.
 */
export async function checkColumns(client: ClickHouse, table: string, columns: readonly RowBinaryColumn[]): Promise<void> {
  const dot = table.indexOf(".");
  const where =
    dot < 0
      ? `database = currentDatabase() AND table = ${quoteString(table)}`
      : `database = ${quoteString(table.slice(0, dot))} AND table = ${quoteString(table.slice(dot + 1))}`;
  const actual = new Map(
    (await queryRows<{ name: string; type: string }>(client, `SELECT name, type FROM system.columns WHERE ${where}`)).map((c) => [c.name, c.type]),
  );
  const problems = columns
    .filter((c) => actual.get(c.name) !== c.type)
    .map((c) => (actual.has(c.name) ? `${c.name} is ${actual.get(c.name)}, not ${c.type}` : `${c.name} is missing`));
  if (problems.length > 0) throw new Error(`table ${table} does not match the encoder: ${problems.join("; ")}`);
}
