import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, createMetrics, silentLogger } from "@loopline/kit";
import { loadDriftMonitorConfig } from "./config.js";
import { parseSegmentKeys } from "./segments.js";
import { createDriftMonitorService } from "./service.js";

test("defaults: admin port 9405, windows of 1000 or 1 minute with at least 100, no segments", () => {
  const c = loadDriftMonitorConfig({});
  assert.equal(c.adminPort, 9405);
  assert.equal(c.windowSize, 1000);
  assert.equal(c.windowIntervalMs, 60_000);
  assert.equal(c.minWindow, 100);
  assert.deepEqual(c.segmentKeys, []);
  assert.equal(c.registryAddress, "127.0.0.1:50053");
  assert.equal(c.driftShare, 0.5);
});

test("durations, lists and blank values", () => {
  const c = loadDriftMonitorConfig({ LOOPLINE_DRIFT_WINDOW_INTERVAL: "5m", LOOPLINE_DRIFT_SEGMENT_KEYS: "country=card_txn:last_country, card_txn:channel", LOOPLINE_DRIFT_WINDOW_SIZE: " " });
  assert.equal(c.windowIntervalMs, 300_000);
  assert.equal(c.windowSize, 1000, "blank is unset");
  assert.deepEqual(parseSegmentKeys(c.segmentKeys), {
    keys: [
      { name: "country", featureRef: "card_txn:last_country" },
      { name: "channel", featureRef: "card_txn:channel" },
    ],
  });
});

test("bad values name their variable", () => {
  assert.throws(
    () => loadDriftMonitorConfig({ LOOPLINE_DRIFT_WINDOW_SIZE: "0", LOOPLINE_DRIFT_WINDOW_INTERVAL: "soon", LOOPLINE_DRIFT_SHARE: "1.5" }),
    (err: unknown) => err instanceof ConfigError && ["LOOPLINE_DRIFT_WINDOW_SIZE", "LOOPLINE_DRIFT_WINDOW_INTERVAL", "LOOPLINE_DRIFT_SHARE"].every((v) => err.message.includes(v)),
  );
});

test("a bad segment key fails the service build with the variable named", () => {
  for (const entry of ["=a:b", "1x=a:b", "country=", "a=x:y,a=x:z"]) {
    const config = loadDriftMonitorConfig({ LOOPLINE_DRIFT_SEGMENT_KEYS: entry });
    assert.throws(
      () => createDriftMonitorService(config, { logger: silentLogger, metrics: createMetrics({ service: "t", defaultMetrics: false }) }),
      (err: unknown) => err instanceof ConfigError && err.message.includes("LOOPLINE_DRIFT_SEGMENT_KEYS"),
      entry,
    );
  }
});
