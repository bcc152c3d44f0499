import assert from "node:assert/strict";
import { test } from "node:test";
import { checkColumns, createClickHouse, encodeRowBinary, execute, insertEncoded, insertRows, pingClickHouse, queryRows, serverVersion, type RowBinaryColumn } from "./clickhouse.js";
import { isolateStack, MIGRATIONS_DIR } from "@loopline/testkit";
import { applyMigrations } from "./migrate.js";
import { silentLogger } from "./log.js";
import { ident, quoteIdentifier, sql } from "./sql.js";
import { HOSTILE } from "./hostile-strings.test-helper.js";

// Integration: the real clickhouse-server (Debian 18.16 here) started by infra/local.

test("escaped strings round-trip through the real ClickHouse unchanged", async (t) => {
  const s = await isolateStack(t);
  assert.equal(await pingClickHouse(s.clickhouse), true);
  const table = `${quoteIdentifier(s.database)}.strings`;
  await execute(s.clickhouse, `CREATE TABLE ${table} (i UInt32, s String) ENGINE = MergeTree() ORDER BY i`);
  const values = HOSTILE.map((h, i) => sql`(${i}, ${h})`).join(", ");
  await execute(s.clickhouse, `INSERT INTO ${table} (i, s) VALUES ${values}`);
  const rows = await queryRows<{ i: number; s: string }>(s.clickhouse, `SELECT i, s FROM ${table} ORDER BY i`);
  assert.deepEqual(rows.map((r) => r.s), HOSTILE);
  // And as a WHERE literal: each hostile string matches exactly its own row.
  for (const [i, h] of HOSTILE.entries()) {
    const hit = await queryRows<{ i: number }>(s.clickhouse, sql`SELECT i FROM ${ident(s.database)}.${ident("strings")} WHERE s = ${h}`);
    assert.deepEqual(hit.map((r) => Number(r.i)), [i], JSON.stringify(h));
  }
});

test("migrations create the core tables; applying twice changes nothing", async (t) => {
  const s = await isolateStack(t);
  const admin = createClickHouse({ url: s.endpoints.clickhouseUrl });
  t.after(() => admin.close());
  const first = await applyMigrations({ client: admin, database: s.database, dir: MIGRATIONS_DIR, logger: silentLogger });
  assert.ok(first.some((o) => o.status === "applied"));
  const schema = () =>
    queryRows<{ table: string; name: string; type: string }>(
      admin,
      sql`SELECT table, name, type FROM system.columns WHERE database = ${s.database} ORDER BY table, name`,
    );
  const before = await schema();
  const second = await applyMigrations({ client: admin, database: s.database, dir: MIGRATIONS_DIR, logger: silentLogger });
  assert.ok(second.every((o) => o.status !== "applied"), "nothing applied the second time");
  assert.deepEqual(await schema(), before);
  const tables = new Set(before.map((c) => c.table));
  for (const name of ["features", "predictions", "labels", "drift_reports", "model_events", "dead_letters", "schema_migrations"]) {
    assert.ok(tables.has(name), `table ${name}`);
  }
  const version = await serverVersion(admin);
  assert.ok(version[0] >= 18);
});

test("a redelivered row collapses in the deduplicating read (ReplacingMergeTree + FINAL)", async (t) => {
  const s = await isolateStack(t, { migrate: true });
  const row = { label_id: "L1", request_id: "r1", entity_id: "card-1", event_time: "2026-11-01 10:00:00", event_time_ms: 1, label: 1, label_time: "2026-11-02 10:00:00", label_time_ms: 2, source_partition: 0, source_offset: 5, ingested_at: "2026-11-02 10:00:01" };
  await insertRows(s.clickhouse, "labels", [row]);
  await insertRows(s.clickhouse, "labels", [row]);
  const raw = await queryRows<{ n: string }>(s.clickhouse, "SELECT count() AS n FROM labels");
  const dedup = await queryRows<{ n: string }>(s.clickhouse, "SELECT count() AS n FROM labels FINAL");
  assert.equal(Number(raw[0]?.n), 2);
  assert.equal(Number(dedup[0]?.n), 1);
});

test("RowBinary bodies round-trip hostile strings and edge numbers through the real ClickHouse", async (t) => {
  const s = await isolateStack(t);
  const columns: RowBinaryColumn[] = [
    { name: "i", type: "UInt32" },
    { name: "s", type: "String" },
    { name: "a", type: "Array(String)" },
    { name: "u64", type: "UInt64" },
    { name: "f", type: "Float64" },
    { name: "fs", type: "Array(Float64)" },
    { name: "b", type: "UInt8" },
    { name: "bs", type: "Array(UInt8)" },
    { name: "t", type: "DateTime" },
  ];
  await execute(s.clickhouse, `CREATE TABLE ${quoteIdentifier(s.database)}.rb (${columns.map((c) => `${c.name} ${c.type}`).join(", ")}, d String DEFAULT 'dflt') ENGINE = MergeTree() ORDER BY i`);
  await checkColumns(s.clickhouse, "rb", columns);
  await assert.rejects(checkColumns(s.clickhouse, "rb", [{ name: "i", type: "UInt64" }, { name: "nope", type: "String" }]), /i is UInt32, not UInt64; nope is missing/);
  const numbers: [string | number | bigint, number | string, number[], string, string, number, string[]][] = [
    // u64 in, Float64 in, Array(Float64) in; what ClickHouse gives back: u64 text, toString(f), toUnixTimestamp(t) and toString(t) in UTC
    ["18446744073709551615", 0.25, [1.5, -2], "18446744073709551615", "0.25", 1_773_480_600, ["1.5", "-2"]],
    [9_007_199_254_740_993n, "nan", [], "9007199254740993", "nan", 0, []],
    [0, "-inf", [Number.NaN], "0", "-inf", 4_294_967_295, ["nan"]],
    ["123", 1e-300, [Infinity], "123", "1e-300", 1, ["inf"]],
  ];
  const rows = HOSTILE.map((h, i) => {
    const [u64, f, fs] = numbers[i % numbers.length] as (typeof numbers)[number];
    const [, , , , , t] = numbers[i % numbers.length] as (typeof numbers)[number];
    return { i, s: h, a: [h, "x", h], u64, f, fs, b: i % 2 === 0, bs: [i, 255, 0], t };
  });
  // Two pieces of one body, cut between rows, as the sink sends them.
  const first = encodeRowBinary(columns, rows.slice(0, 5)).take();
  const rest = encodeRowBinary(columns, rows.slice(5)).take();
  await insertEncoded(s.clickhouse, `${s.database}.rb`, columns.map((c) => c.name), "RowBinary", [first, rest]);
  const back = await queryRows<{ i: number; s: string; a: string[]; u64: string; f: string; fs: string[]; b: number; bs: number[]; t: string; d: string }>(
    s.clickhouse,
    `SELECT i, s, a, toString(u64) AS u64, toString(f) AS f, arrayMap(x -> toString(x), fs) AS fs, b, bs, toString(toUnixTimestamp(t)) AS t, d FROM ${quoteIdentifier(s.database)}.rb ORDER BY i`,
  );
  assert.deepEqual(back.map((r) => r.s), HOSTILE);
  for (const [i, r] of back.entries()) {
    const [, , , u64, f, t, fs] = numbers[i % numbers.length] as (typeof numbers)[number];
    assert.deepEqual(r.a, [HOSTILE[i], "x", HOSTILE[i]]);
    assert.deepEqual([r.u64, r.f, r.fs, Number(r.b), r.bs.map(Number), Number(r.t), r.d], [u64, f, fs, i % 2 === 0 ? 1 : 0, [i, 255, 0], t, "dflt"], `row ${i}`);
  }
});

test("insertEncoded sends a TabSeparated body as it is; an empty body sends nothing", async (t) => {
  const s = await isolateStack(t);
  await execute(s.clickhouse, `CREATE TABLE ${quoteIdentifier(s.database)}.tsv (i UInt32, s String) ENGINE = MergeTree() ORDER BY i`);
  // TSV escapes: \t tab, \n newline, \\ backslash, \' quote (ClickHouse's TabSeparated rules).
  await insertEncoded(s.clickhouse, "tsv", ["i", "s"], "TabSeparated", Buffer.from("1\ta\\tb\\nc\\\\d\\'e\n2\tplain\n"));
  await insertEncoded(s.clickhouse, "tsv", ["i", "s"], "RowBinary", []);
  assert.deepEqual(await queryRows(s.clickhouse, "SELECT i, s FROM tsv ORDER BY i"), [
    { i: 1, s: "a\tb\nc\\d'e" },
    { i: 2, s: "plain" },
  ]);
});
