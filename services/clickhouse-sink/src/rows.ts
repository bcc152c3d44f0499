/**
 * Helpers every mapper shares. Rows are plain objects in the forms JSONEachRow takes (DateTime as unix
 * seconds, UInt64 as decimal strings since they exceed 2^53, non-finite floats as the strings "nan",
 * "inf" and "-inf"); the kit's encodeRowBinary reads the same forms when the sink encodes them as
 * RowBinary against the columns of src/table-columns.ts.
 */

/** One row of a ClickHouse table, keyed by column name. */
export type Row = Record<string, unknown>;

/** Largest value of a DateTime (UInt32 seconds). */
const MAX_DATETIME = 4_294_967_295;

/** Epoch milliseconds → DateTime seconds, clamped to DateTime's range (1970 … 2106) so no row is refused. */
export function seconds(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) return 0;
  return Math.min(MAX_DATETIME, Math.floor(ms / 1000));
}

/** Epoch milliseconds for a UInt64 *_ms column: negative or non-finite times become 0. */
export function millis(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.floor(ms) : 0;
}

/** A Float64 value JSON can carry: finite numbers as they are, the rest as ClickHouse's text for them. */
export function float(x: number): number | string {
  if (Number.isFinite(x)) return x;
  if (Number.isNaN(x)) return "nan";
  return x > 0 ? "inf" : "-inf";
}

/** Where a row came from in Kafka, for the source_partition/source_offset columns. */
export interface RecordOrigin {
  partition: number;
  /** Decimal offset string. */
  offset: string;
}

/** A record the sink could not map: a stable code and a human detail naming the field at fault. */
export interface Rejection {
  code: string;
  detail: string;
}

/** The outcome of mapping one record: rows for one table, a rejection, or nothing (a tombstone). */
export type Mapped = { table: string; rows: Row[] } | { rejected: Rejection } | { skipped: true };

/** Feature-value columns shared by features and predictions: numbers, texts and Feast-style statuses. */
export interface ValueColumns {
  numbers: (number | string)[];
  strings: string[];
}

/** Appends one plain value to the parallel number/string columns (numbers hold nan for text and null). */
export function pushValue(columns: ValueColumns, value: number | string | boolean | null): void {
  if (typeof value === "number") {
    columns.numbers.push(float(value));
    columns.strings.push("");
  } else if (typeof value === "boolean") {
    columns.numbers.push(value ? 1 : 0);
    columns.strings.push("");
  } else if (typeof value === "string") {
    columns.numbers.push("nan");
    columns.strings.push(value);
  } else {
    columns.numbers.push("nan");
    columns.strings.push("");
  }
}
