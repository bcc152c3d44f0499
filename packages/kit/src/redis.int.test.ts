import assert from "node:assert/strict";
import { test } from "node:test";
import { isolateStack } from "@loopline/testkit";
import { silentLogger } from "./log.js";
import { connectRedis, createRedis, deleteKeysMatching, pingRedis } from "./redis.js";

// Integration: the real redis-server started by infra/local.

test("redis answers and keys stay inside the test's prefix", async (t) => {
  const s = await isolateStack(t);
  assert.equal(await pingRedis(s.redis), true);
  await s.redis.hset("card:1", { amount: "12.5" });
  assert.equal(await s.redis.hget("card:1", "amount"), "12.5");
  const raw = createRedis({ url: s.endpoints.redisUrl, logger: silentLogger });
  t.after(() => raw.disconnect());
  await connectRedis(raw);
  assert.equal(await raw.hget(`${s.redisPrefix}card:1`, "amount"), "12.5", "stored under the prefix");
});

test("deleteKeysMatching removes what the pattern matches, spares what keep says, through a keyPrefix client too", async (t) => {
  const s = await isolateStack(t);
  const raw = createRedis({ url: s.endpoints.redisUrl, logger: silentLogger });
  t.after(() => raw.disconnect());
  await connectRedis(raw);
  const pipeline = raw.pipeline();
  for (let i = 0; i < 2500; i++) pipeline.set(`${s.redisPrefix}run-${i % 3}:k${i}`, "x");
  assert.ok((await pipeline.exec())?.every(([err]) => err === null));
  // Full names in the pattern; s.redis carries the prefix, which must not be applied twice.
  const deleted = await deleteKeysMatching(s.redis, `${s.redisPrefix}run-*`, (key) => key.startsWith(`${s.redisPrefix}run-0:`));
  assert.equal(deleted, 2500 - 834);
  const left: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await raw.scan(cursor, "MATCH", `${s.redisPrefix}*`, "COUNT", 1000);
    cursor = next;
    left.push(...keys);
  } while (cursor !== "0");
  assert.equal(left.length, 834);
  assert.ok(left.every((k) => k.startsWith(`${s.redisPrefix}run-0:`)));
});

test("a request-mode client fails fast when Redis is unreachable instead of queueing", async (t) => {
  const dead = createRedis({ url: "redis://127.0.0.1:1", logger: silentLogger, commandTimeoutMs: 300 });
  t.after(() => dead.disconnect());
  assert.equal(await pingRedis(dead), false);
  await assert.rejects(connectRedis(dead, 300), /redis unavailable/);
  const started = Date.now();
  await assert.rejects(dead.get("x"));
  assert.ok(Date.now() - started < 5000, "rejected promptly");
});
