import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, defineConfig, formatDuration, loadConfig, markdownCell, parseDuration } from "./config.js";

const schema = defineConfig({
  port: { type: "int", env: "SVC_PORT", default: 9401, min: 1, max: 65535, doc: "admin port" },
  brokers: { type: "list", env: "SVC_BROKERS", default: ["127.0.0.1:9092"], doc: "brokers" },
  ratio: { type: "number", env: "SVC_RATIO", default: 0.5, min: 0, max: 1, doc: "share" },
  debug: { type: "bool", env: "SVC_DEBUG", default: false, doc: "debug" },
  mode: { type: "enum", env: "SVC_MODE", values: ["fast", "safe"], default: "safe", doc: "mode" },
  redis: { type: "url", env: "SVC_REDIS", protocols: ["redis"], default: "redis://127.0.0.1:6379", doc: "redis" },
  grace: { type: "duration", env: "SVC_GRACE", default: 15_000, doc: "grace" },
  token: { type: "string", env: "SVC_TOKEN", doc: "token (required)" },
});

test("defaults apply when variables are unset or blank", () => {
  const c = loadConfig(schema, { SVC_TOKEN: "x", SVC_PORT: "   ", SVC_BROKERS: "" });
  assert.equal(c.port, 9401);
  assert.deepEqual(c.brokers, ["127.0.0.1:9092"]);
  assert.equal(c.mode, "safe");
  assert.equal(c.grace, 15_000);
});

test("values are parsed into their types", () => {
  const c = loadConfig(schema, {
    SVC_TOKEN: "abc",
    SVC_PORT: "50051",
    SVC_BROKERS: "a:1, b:2,,",
    SVC_RATIO: "0.25",
    SVC_DEBUG: "yes",
    SVC_MODE: "fast",
    SVC_REDIS: "redis://h:1",
    SVC_GRACE: "2m",
  });
  assert.deepEqual(
    { ...c },
    { port: 50051, brokers: ["a:1", "b:2"], ratio: 0.25, debug: true, mode: "fast", redis: "redis://h:1", grace: 120_000, token: "abc" },
  );
});

const bad: [string, Record<string, string>, RegExp][] = [
  ["non-numeric int", { SVC_PORT: "abc" }, /SVC_PORT: "abc" is not a number/],
  ["fractional int", { SVC_PORT: "1.5" }, /SVC_PORT: "1.5" is not an integer/],
  ["above max", { SVC_PORT: "70000" }, /SVC_PORT: 70000 is above the maximum 65535/],
  ["below min", { SVC_RATIO: "-1" }, /SVC_RATIO: -1 is below the minimum 0/],
  ["bad bool", { SVC_DEBUG: "maybe" }, /SVC_DEBUG: "maybe" is not a boolean/],
  ["bad enum", { SVC_MODE: "turbo" }, /SVC_MODE: "turbo" is not one of fast, safe/],
  ["bad url", { SVC_REDIS: "not a url" }, /SVC_REDIS: "not a url" is not a URL/],
  ["wrong protocol", { SVC_REDIS: "http://h" }, /SVC_REDIS: protocol http is not one of redis/],
  ["bad duration", { SVC_GRACE: "10 minutes" }, /SVC_GRACE: "10 minutes" is not a duration/],
];
for (const [name, env, pattern] of bad) {
  test(`a bad value names the variable: ${name}`, () => {
    assert.throws(() => loadConfig(schema, { SVC_TOKEN: "t", ...env }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, pattern);
      return true;
    });
  });
}

test("a missing required variable is named, and all problems are reported together", () => {
  assert.throws(
    () => loadConfig(schema, { SVC_PORT: "x" }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems.map((p) => p.variable).sort(), ["SVC_PORT", "SVC_TOKEN"]);
      assert.match(err.message, /SVC_TOKEN: required/);
      return true;
    },
  );
});

test("durations", () => {
  const cases: [string, number | undefined][] = [
    ["250ms", 250],
    ["5s", 5000],
    ["10m", 600_000],
    ["1h", 3_600_000],
    ["7d", 604_800_000],
    ["1.5s", 1500],
    ["5", undefined],
    ["-5s", undefined],
    ["5w", undefined],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test("formatDuration picks the largest exact unit", () => {
  const cases: [number, string][] = [[86_400_000, "1d"], [7_200_000, "2h"], [90_000, "90s"], [600_000, "10m"], [1500, "1500ms"], [0, "0ms"]];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text);
});

test("a doc string becomes one Markdown table cell: pipes escaped everywhere, < outside code spans", () => {
  // GitHub Flavored Markdown: `\|` keeps a pipe inside a table cell (code spans included); `\<` keeps
  // `<model>` from being read as an HTML tag, and inside a code span it needs no escaping.
  assert.equal(markdownCell("a | b <x> `c|<d>` e"), "a \\| b \\<x> `c\\|<d>` e");
  assert.equal(markdownCell("plain"), "plain");
});
