import assert from "node:assert/strict";
import { test } from "node:test";
import { createClickHouse, execute, insertRows, pingClickHouse, queryRows, serverVersion } from "./clickhouse.js";
import { isolateStack, MIGRATIONS_DIR } from "@loopline/testkit";
import { applyMigrations } from "./migrate.js";
import { silentLogger } from "./log.js";
import { ident, quoteIdentifier, sql } from "./sql.js";

// Integration: the real clickhouse-server (Debian 18.16 here) started by infra/local.

const HOSTILE = [
  "plain",
  "it's",
  "''",
  "back\\slash",
  "\\'",
  "ends with backslash\\",
  "nul\0inside",
  "new\nline\r\nand\ttab",
  "'; DROP TABLE t; --",
  "emoji 🚀 and ünïcödé",
  "\u0001\u001f\u007f",
  "{x:String}",
  "",
];

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
