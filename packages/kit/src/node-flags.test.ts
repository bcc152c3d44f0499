import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { serviceNodeFlags } from "./node-flags.js";

const withPackage = (pkg: unknown): string => {
  const dir = mkdtempSync(join(tmpdir(), "node-flags-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg));
  return dir;
};

test("nodeFlags come from the service's package.json, none when absent", () => {
  assert.deepEqual(serviceNodeFlags(withPackage({ name: "x", nodeFlags: ["--max-semi-space-size=32"] })), ["--max-semi-space-size=32"]);
  assert.deepEqual(serviceNodeFlags(withPackage({ name: "x" })), []);
});

test("nodeFlags that are not an array of --flags are refused, naming the file", () => {
  const dir = withPackage({ nodeFlags: "--max-semi-space-size=32" });
  assert.throws(() => serviceNodeFlags(dir), new RegExp(`${dir}/package.json: nodeFlags must be an array`));
  assert.throws(() => serviceNodeFlags(withPackage({ nodeFlags: ["max-semi-space-size=32"] })), /nodeFlags must be an array of --flags/);
});
