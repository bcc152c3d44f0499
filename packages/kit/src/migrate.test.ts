import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { hasCapability, loadMigrations, MigrationError, splitStatements } from "./migrate.js";

test("splitStatements splits on line-ending semicolons and drops comment lines", () => {
  const text = "-- header\nCREATE TABLE a (x String DEFAULT ';');\n\n-- two\nCREATE TABLE b (y UInt8)\n;\nSELECT 1";
  assert.deepEqual(splitStatements(text), ["CREATE TABLE a (x String DEFAULT ';')", "CREATE TABLE b (y UInt8)", "SELECT 1"]);
});

test("capabilities by server version: Debian 18.16 has neither TTL nor DateTime64", () => {
  assert.equal(hasCapability([18, 16], "ttl"), false);
  assert.equal(hasCapability([18, 16], "datetime64"), false);
  assert.equal(hasCapability([19, 6], "ttl"), true);
  assert.equal(hasCapability([19, 17], "datetime64"), false);
  assert.equal(hasCapability([24, 8], "datetime64"), true);
});

test("loadMigrations orders files, reads requirements and rejects bad names", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "mig-"));
  t.after(() => rm(dir, { recursive: true }));
  await writeFile(join(dir, "0002_ttl.sql"), "-- requires: ttl\nALTER TABLE {database}.t MODIFY TTL d + INTERVAL 1 DAY;\n");
  await writeFile(join(dir, "0001_init.sql"), "CREATE TABLE {database}.t (d DateTime) ENGINE = MergeTree() ORDER BY d;\n");
  await writeFile(join(dir, "notes.txt"), "ignored");
  const migs = await loadMigrations(dir);
  assert.deepEqual(migs.map((m) => [m.version, m.name, m.requires]), [
    [1, "init", []],
    [2, "ttl", ["ttl"]],
  ]);
  assert.equal(migs[0]?.checksum.length, 64);
  await writeFile(join(dir, "3_bad.sql"), "SELECT 1;");
  await assert.rejects(loadMigrations(dir), MigrationError);
});

test("the repository's migrations parse", async () => {
  const migs = await loadMigrations(new URL("../../../infra/clickhouse", import.meta.url).pathname);
  assert.ok(migs.length >= 1);
  const tables = migs.flatMap((m) => m.statements).map((s) => /CREATE TABLE IF NOT EXISTS \{database\}\.(\w+)/.exec(s)?.[1]).filter(Boolean);
  for (const t of ["features", "predictions", "labels", "drift_reports", "model_events", "dead_letters"]) assert.ok(tables.includes(t), t);
});
