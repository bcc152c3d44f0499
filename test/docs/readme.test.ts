import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { configTables, README, readmeSection } from "./config-tables.js";

test("the README's configuration tables match what the services actually read", () => {
  const section = readmeSection(readFileSync(README, "utf8"));
  assert.ok(section !== undefined, "README.md has the config markers");
  assert.equal(section, configTables().trim(), "stale: run node --conditions=@loopline/source --import tsx test/docs/config-tables.ts --write");
});

test("the README shows the two commands", () => {
  const text = readFileSync(README, "utf8");
  assert.match(text, /make demo/);
  assert.match(text, /make test/);
});
