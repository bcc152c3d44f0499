import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { test } from "node:test";
import { connectRedis, createKafka, createRedis, silentLogger } from "@loopline/kit";
import { freePort } from "./ports.js";
import { startPrivateKafka } from "./private-kafka.js";
import { startPrivateRedis } from "./private-redis.js";
import { spawnUntilReady } from "./server-process.js";

async function occupy(port: number, t: { after(fn: () => Promise<void>): void }): Promise<Server> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => (srv.once("error", reject), srv.listen(port, "127.0.0.1", resolve)));
  t.after(() => new Promise<void>((r) => srv.close(() => r())));
  return srv;
}

test("private redis survives kill and start on the same port, losing unsaved data", async (t) => {
  const redis = await startPrivateRedis(t);
  const client = createRedis({ url: redis.url, logger: silentLogger, mode: "background" });
  t.after(() => client.disconnect());
  await connectRedis(client);
  await client.set("k", "v");
  assert.equal(await client.get("k"), "v");
  await redis.kill();
  await redis.start();
  // The same client reconnects by itself to the restarted server, which kept nothing.
  assert.equal(await client.get("k"), null);
});

test("private redis with appendOnly keeps what it acknowledged across a kill", async (t) => {
  const redis = await startPrivateRedis(t, { appendOnly: true });
  const client = createRedis({ url: redis.url, logger: silentLogger, mode: "background" });
  t.after(() => client.disconnect());
  await connectRedis(client);
  await client.rpush("journal", "a", "b", "c");
  await redis.kill();
  await redis.start();
  assert.deepEqual(await client.lrange("journal", 0, -1), ["a", "b", "c"]);
});

test("redis-server on a taken port fails the start at once with redis's own reason", async (t) => {
  const port = await freePort();
  await occupy(port, t);
  const started = Date.now();
  await assert.rejects(
    spawnUntilReady({
      name: `redis-server on ${port}`,
      command: "redis-server",
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      // The occupier accepts connections but never answers PING, as a foreign process would.
      ready: async () => false,
      timeoutMs: 60_000,
    }),
    (err: Error) => {
      assert.match(err.message, new RegExp(`^redis-server on ${port} exited with code 1 before it was ready`));
      assert.match(err.message, /Address already in use/);
      return true;
    },
  );
  assert.ok(Date.now() - started < 30_000);
});

test("private kafka keeps what it acknowledged across a kill, and answers again on the same port", async (t) => {
  const broker = await startPrivateKafka(t);
  const kafka = createKafka({ brokers: broker.brokers, clientId: "private-kafka-test", logger: silentLogger, clientLogLevel: "error" });
  t.after(() => kafka.close());
  await kafka.ensureTopics([{ topic: "survives", partitions: 1 }]);
  const producer = await kafka.createProducer();
  await producer.send("survives", [{ value: "a" }, { value: "b" }]);
  await producer.close();
  await broker.kill();
  await broker.start();
  assert.deepEqual(await kafka.topicEndOffsets("survives"), [{ partition: 0, offset: "2" }]);
});
