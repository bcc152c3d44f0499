/**
 * The one place values become ClickHouse SQL text. Debian's ClickHouse 18.16 has no query
 * parameters, so every value spliced into SQL goes through these functions. Tests round-trip
 * hostile strings through a real server.
 */

/** A value that can be rendered as a ClickHouse literal. */
export type SqlValue = string | number | bigint | boolean | null | Date | readonly SqlValue[];

const ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "'": "\\'",
  "\0": "\\0",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** Escapes a string for use inside single quotes: backslash, quote, NUL and every control character. */
export function escapeString(value: string): string {
  return value.replace(/[\\'\u0000-\u001f\u007f]/g, (c) => ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** A quoted string literal: `'...'`. */
export function quoteString(value: string): string {
  return `'${escapeString(value)}'`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A quoted identifier (database, table, column): backticks with backslash and backtick escaped. */
export function quoteIdentifier(name: string): string {
  if (name === "") throw new RangeError("empty SQL identifier");
  if (IDENTIFIER.test(name)) return `\`${name}\``;
  return `\`${name.replace(/[\\`]/g, (c) => `\\${c}`).replace(/\0/g, "\\0")}\``;
}

/** Formats a Date as ClickHouse DateTime text (UTC, second precision): `YYYY-MM-DD hh:mm:ss`. */
export function formatDateTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("invalid Date");
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/** Renders any supported value as a ClickHouse literal. Non-finite numbers are rejected. */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return "NULL";
  if (typeof value === "string") return quoteString(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`non-finite number ${value} cannot be a SQL literal`);
    return String(value);
  }
  if (value instanceof Date) return quoteString(formatDateTime(value));
  return `[${value.map(sqlLiteral).join(", ")}]`;
}

/**
 * Tagged template that renders interpolated values as literals:
 * sql`SELECT * FROM t WHERE id = ${id}` — identifiers must go through `ident()`.
 */
export function sql(strings: TemplateStringsArray, ...values: readonly (SqlValue | SqlIdentifier)[]): string {
  let out = strings[0] ?? "";
  values.forEach((v, i) => {
    out += (v instanceof SqlIdentifier ? quoteIdentifier(v.name) : sqlLiteral(v)) + (strings[i + 1] ?? "");
  });
  return out;
}

/** Marks a name as an identifier inside the `sql` template. */
export class SqlIdentifier {
  constructor(readonly name: string) {}
}

/** An identifier for the `sql` template: sql`SELECT count() FROM ${ident(db)}.${ident(table)}`. */
export function ident(name: string): SqlIdentifier {
  return new SqlIdentifier(name);
}
