import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "./log.js";
import { createShutdown } from "./shutdown.js";

test("closes components in reverse order, once, and reports a failure in the exit code", async () => {
  const order: string[] = [];
  const s = createShutdown({ logger: silentLogger, handleSignals: false });
  s.add({ name: "kafka", close: () => void order.push("kafka") });
  s.add({ name: "redis", close: async () => { order.push("redis"); throw new Error("x"); } });
  s.add({ name: "grpc", close: () => void order.push("grpc") });
  assert.equal(s.stopping, false);
  const [a, b] = await Promise.all([s.run("test"), s.run("again")]);
  assert.deepEqual(order, ["grpc", "redis", "kafka"]);
  assert.equal(a, 1);
  assert.equal(b, 1);
  assert.equal(s.stopping, true);
});

test("a component that hangs past the grace period forces exit code 1", async () => {
  const s = createShutdown({ logger: silentLogger, handleSignals: false, graceMs: 50 });
  s.add({ name: "stuck", close: () => new Promise<void>(() => undefined) });
  assert.equal(await s.run("test"), 1);
});
