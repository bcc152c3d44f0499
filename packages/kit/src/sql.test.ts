import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeString, formatDateTime, ident, quoteIdentifier, quoteString, sql, sqlLiteral } from "./sql.js";

// Expected texts are written out by hand from ClickHouse's string-literal escape rules.
test("escapeString escapes backslash, quote, NUL and control characters", () => {
  const cases: [string, string][] = [
    ["plain", "plain"],
    ["it's", "it\\'s"],
    ["back\\slash", "back\\\\slash"],
    ["nul\0byte", "nul\\0byte"],
    ["line\nbreak\r\n", "line\\nbreak\\r\\n"],
    ["tab\there", "tab\\there"],
    ["bell\u0007", "bell\\x07"],
    ["del\u007f", "del\\x7f"],
    ["\\'", "\\\\\\'"],
    ["unicode ✓ é", "unicode ✓ é"],
  ];
  for (const [input, expected] of cases) assert.equal(escapeString(input), expected, JSON.stringify(input));
});

test("quoteIdentifier", () => {
  assert.equal(quoteIdentifier("loopline"), "`loopline`");
  assert.equal(quoteIdentifier("we`ird\\name"), "`we\\`ird\\\\name`");
  assert.throws(() => quoteIdentifier(""), RangeError);
});

test("sqlLiteral renders each type and rejects non-finite numbers", () => {
  assert.equal(sqlLiteral(null), "NULL");
  assert.equal(sqlLiteral(42), "42");
  assert.equal(sqlLiteral(-0.5), "-0.5");
  assert.equal(sqlLiteral(10n ** 20n), "100000000000000000000");
  assert.equal(sqlLiteral(true), "1");
  assert.equal(sqlLiteral(new Date(Date.UTC(2026, 10, 22, 3, 4, 5, 678))), "'2026-11-22 03:04:05'");
  assert.equal(sqlLiteral(["a'b", 1, null]), "['a\\'b', 1, NULL]");
  assert.throws(() => sqlLiteral(Number.NaN), RangeError);
  assert.throws(() => sqlLiteral(Number.POSITIVE_INFINITY), RangeError);
});

test("the sql template quotes values and identifiers", () => {
  const q = sql`SELECT count() FROM ${ident("db")}.${ident("t")} WHERE name = ${"x' OR 1=1 --"} AND n > ${3}`;
  assert.equal(q, "SELECT count() FROM `db`.`t` WHERE name = 'x\\' OR 1=1 --' AND n > 3");
});

test("formatDateTime is UTC with second precision", () => {
  assert.equal(formatDateTime(new Date("2026-01-02T03:04:05.999+02:00")), "2026-01-02 01:04:05");
  assert.throws(() => formatDateTime(new Date("nope")), RangeError);
  assert.equal(quoteString(""), "''");
});
