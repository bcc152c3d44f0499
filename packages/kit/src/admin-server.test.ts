import assert from "node:assert/strict";
import { test } from "node:test";
import { createAdminServer } from "./admin-server.js";
import { silentLogger } from "./log.js";
import { createMetrics } from "./metrics.js";

test("serves /metrics, /healthz and /readyz that reflects its checks and draining", async (t) => {
  const metrics = createMetrics({ service: "svc-test", defaultMetrics: false });
  metrics.counter("loopline_test_things_total", "things").inc(3);
  let redisUp = true;
  const admin = await createAdminServer({
    port: 0,
    metrics,
    logger: silentLogger,
    readiness: [
      { name: "redis", check: async () => redisUp },
      { name: "slow", check: () => new Promise<boolean>((r) => setTimeout(() => r(true), 10)) },
    ],
  });
  t.after(() => admin.close());
  const base = `http://127.0.0.1:${admin.port}`;
  const text = await (await fetch(`${base}/metrics`)).text();
  assert.match(text, /loopline_test_things_total\{service="svc-test"\} 3/);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  redisUp = false;
  const notReady = await fetch(`${base}/readyz`);
  assert.equal(notReady.status, 503);
  const body = (await notReady.json()) as { checks: { name: string; ok: boolean }[] };
  assert.deepEqual(body.checks.map((c) => [c.name, c.ok]), [["redis", false], ["slow", true]]);
  redisUp = true;
  admin.setDraining();
  assert.equal((await fetch(`${base}/readyz`)).status, 503);
  assert.equal((await fetch(`${base}/nope`)).status, 404);
});
