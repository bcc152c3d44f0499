import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { createMetrics } from "@loopline/kit";
import { parse } from "yaml";
import { createDriftMetrics } from "./drift-metrics.js";

// infra/prometheus/alerts.yml: the rules drift-monitor's metrics feed. promtool (Debian package
// `prometheus`) checks and unit-tests them when it is installed; the structure and the metric names are
// checked here either way.

const DIR = fileURLToPath(new URL("../../../infra/prometheus/", import.meta.url));
const DURATION = /^\d+(ms|s|m|h|d|w|y)$/;

interface Rule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

const doc = parse(readFileSync(`${DIR}alerts.yml`, "utf8")) as { groups?: { name?: unknown; rules?: Rule[] }[] };

test("alerts.yml: groups of alerting rules, each with an expression, a duration, a severity and a summary", () => {
  assert.ok(Array.isArray(doc.groups) && doc.groups.length > 0);
  const names = new Set<string>();
  for (const group of doc.groups) {
    assert.equal(typeof group.name, "string");
    assert.ok(Array.isArray(group.rules) && group.rules.length > 0, String(group.name));
    for (const rule of group.rules) {
      assert.equal(typeof rule.alert, "string");
      const name = rule.alert as string;
      assert.ok(!names.has(name), `${name} defined twice`);
      names.add(name);
      assert.ok(typeof rule.expr === "string" && rule.expr.trim() !== "", `${name}: expr`);
      assert.ok(typeof rule.for === "string" && DURATION.test(rule.for), `${name}: for`);
      assert.ok(["warning", "critical"].includes(rule.labels?.["severity"] as string), `${name}: severity`);
      assert.equal(typeof rule.annotations?.["summary"], "string", `${name}: summary`);
    }
  }
  for (const expected of ["LooplineDatasetDrift", "LooplinePredictionDrift", "LooplineModelAucDecay", "LooplineDriftMonitorDown"]) assert.ok(names.has(expected), expected);
});

test("alerts.yml refers only to metrics drift-monitor exports", async () => {
  const metrics = createMetrics({ service: "drift-monitor", defaultMetrics: false });
  createDriftMetrics(metrics);
  const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  const used = new Set<string>();
  for (const group of doc.groups ?? []) for (const rule of group.rules ?? []) for (const m of String(rule.expr).matchAll(/\bloopline_(?:drift|model)_[a-z_]+/g)) used.add(m[0]);
  assert.ok(used.size >= 5);
  for (const name of used) assert.ok(exported.has(name), `${name} is used by an alert but not exported`);
});

test("promtool checks and unit-tests the rules", (t) => {
  const promtool = process.env["PROMTOOL"] ?? "promtool";
  const probe = spawnSync(promtool, ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined) {
    t.skip(`${promtool} not found (Debian package prometheus, or set PROMTOOL)`);
    return;
  }
  for (const args of [["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]]) {
    const run = spawnSync(promtool, args, { cwd: DIR, encoding: "utf8" });
    assert.equal(run.status, 0, `promtool ${args.join(" ")}:\n${run.stdout}${run.stderr}`);
  }
});
