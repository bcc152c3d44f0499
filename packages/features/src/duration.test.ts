import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDuration, parseDuration } from "./duration.js";
import { FeatureError } from "./errors.js";

describe("parseDuration", () => {
  const valid: Array<[string | number, number]> = [
    ["250ms", 250],
    ["30s", 30_000],
    ["10m", 600_000], // 10 * 60 * 1000
    ["1h", 3_600_000], // 60 * 60 * 1000
    ["24h", 86_400_000],
    ["7d", 604_800_000], // 7 * 86_400_000
    ["0s", 0],
    [1500, 1500],
  ];
  for (const [input, ms] of valid) {
    it(`parses ${JSON.stringify(input)} as ${ms} ms`, () => assert.equal(parseDuration(input, "t"), ms));
  }
  for (const bad of ["10", "1.5h", "-1m", "1w", "", " 1h", 1.5, -1]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseDuration(bad, "window"), (err: unknown) => err instanceof FeatureError && err.code === "INVALID_DEFINITION" && err.message.startsWith("window:"));
    });
  }
});

describe("formatDuration", () => {
  const cases: Array<[number, string]> = [[0, "0ms"], [1500, "1500ms"], [90_000, "90s"], [3_600_000, "1h"], [604_800_000, "7d"]];
  for (const [ms, text] of cases) it(`formats ${ms} as ${text}`, () => assert.equal(formatDuration(ms), text));
});
