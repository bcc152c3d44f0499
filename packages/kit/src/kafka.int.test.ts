import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { cleanupInReverse, eventually, freePort, isolateStack, startPrivateKafka, type IsolatedStack } from "@loopline/testkit";
import { Kafka, logLevel } from "kafkajs";
import { createKafka, DLQ_HEADERS, publishDeadLetters, type ConsumedRecord } from "./kafka.js";
import { createLogger, silentLogger } from "./log.js";
import { createMetrics } from "./metrics.js";
import { dlqTopic } from "./topics.js";

// Integration: talks to the real Kafka broker started by infra/local.

async function collect(count: number, timeoutMs: number, arrived: ConsumedRecord[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (arrived.length < count) {
    if (Date.now() > deadline) throw new Error(`timed out: ${arrived.length}/${count} records`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An isolated stack with a fresh topic of `partitions` partitions and a producer closed after the test. */
async function topicWithProducer(t: TestContext, name: string, partitions: number) {
  const s = await isolateStack(t);
  const topic = `${s.topicPrefix}${name}`;
  await s.kafka.ensureTopics([{ topic, partitions }]);
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  return { s, topic, producer };
}

/** The group's committed offsets once partition 0's reaches `offset`, or as they are after 10 s. */
async function committedOnceAt(s: IsolatedStack, groupId: string, topic: string, offset: string) {
  const deadline = Date.now() + 10_000;
  let committed = await s.kafka.groupOffsets(groupId, topic);
  while (committed[0]?.offset !== offset && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    committed = await s.kafka.groupOffsets(groupId, topic);
  }
  return committed;
}

test("produce and consume keyed records with headers, in order per partition", async (t) => {
  const s = await isolateStack(t);
  const topic = `${s.topicPrefix}roundtrip`;
  assert.deepEqual(await s.kafka.ensureTopics([{ topic, partitions: 3 }]), [topic]);
  assert.deepEqual(await s.kafka.ensureTopics([{ topic, partitions: 3 }]), [], "second ensure creates nothing");
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  const records = Array.from({ length: 60 }, (_, i) => ({ key: `card-${i % 4}`, value: JSON.stringify({ i }), headers: { "content-type": "application/json" } }));
  await producer.send(topic, records);

  const got: ConsumedRecord[] = [];
  const consumer = s.kafka.createConsumer({ groupId: `${s.topicPrefix}g`, topics: [topic], handler: async (b) => void got.push(...b.records) });
  t.after(() => consumer.close());
  await consumer.start();
  await collect(60, 30_000, got);
  await new Promise((r) => setTimeout(r, 500)); // anything redelivered by mistake would arrive now
  assert.equal(got.length, 60, "each record exactly once");
  for (const key of ["card-0", "card-1", "card-2", "card-3"]) {
    const mine = got.filter((r) => r.key?.toString() === key);
    assert.equal(mine.length, 15);
    assert.equal(new Set(mine.map((r) => r.partition)).size, 1, "one key, one partition");
    const is = mine.map((r) => (JSON.parse(r.value?.toString() ?? "{}") as { i: number }).i);
    assert.deepEqual(is, [...is].sort((a, b) => a - b), "order kept per key");
  }
  assert.equal(got[0]?.headers["content-type"]?.toString(), "application/json");
});

test("a producer's start and sends log no warning an operator would have to weigh", async (t) => {
  // kafkajs warns that a counted retry "may invalidate EoS guarantees" for every idempotent
  // producer: at every service start, about a duplicate the at-least-once design absorbs.
  const s = await isolateStack(t);
  const lines: string[] = [];
  const logger = createLogger({ name: "test", level: "warn", write: (line) => void lines.push(line) });
  const kafka = createKafka({ brokers: s.endpoints.kafkaBrokers, clientId: "quiet-producer", logger });
  t.after(() => kafka.close());
  const topic = `${s.topicPrefix}quiet`;
  await kafka.ensureTopics([{ topic, partitions: 1 }]);
  const producer = await kafka.createProducer();
  await producer.send(topic, [{ key: "card-1", value: "{}" }]);
  await producer.close();
  assert.deepEqual(lines, []);
});

test("a send far larger than the broker's message.max.bytes arrives whole and in order", async (t) => {
  // kafkajs never splits a send: before the kit did, a backlog batch of a few MB came back as
  // MESSAGE_TOO_LARGE. 4,000 records of 1 KB on one partition is ~4 MB against the default 1 MB.
  const { s, topic, producer } = await topicWithProducer(t, "large", 1);
  const pad = "x".repeat(1000);
  await producer.send(topic, Array.from({ length: 4000 }, (_, i) => ({ key: "one", value: `${i}:${pad}` })));
  const ends = await s.kafka.topicEndOffsets(topic);
  assert.equal(ends[0]?.offset, "4000");
  const got: ConsumedRecord[] = [];
  const consumer = s.kafka.createConsumer({ groupId: `${s.topicPrefix}g`, topics: [topic], handler: async (b) => void got.push(...b.records) });
  t.after(() => consumer.close());
  await consumer.start();
  await collect(4000, 30_000, got);
  assert.deepEqual(
    got.map((r) => Number(r.value?.toString().split(":")[0])),
    Array.from({ length: 4000 }, (_, i) => i),
  );
});

test("keys land on the partitions Kafka's Java client would choose (murmur2)", async (t) => {
  // Hashes from Apache Kafka's own UtilsTest.testMurmur2; the Java client's partition is
  // toPositive(hash) % partitions. The kit's kafkajs carries a patched murmur2, so check it end to end.
  const java: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  const { s, topic, producer } = await topicWithProducer(t, "murmur", 7);
  await producer.send(topic, java.map(([key]) => ({ key, value: key })));
  const got: ConsumedRecord[] = [];
  const consumer = s.kafka.createConsumer({ groupId: `${s.topicPrefix}g`, topics: [topic], handler: async (b) => void got.push(...b.records) });
  t.after(() => consumer.close());
  await consumer.start();
  await collect(java.length, 30_000, got);
  for (const [key, hash] of java) {
    assert.equal(got.find((r) => r.key?.toString() === key)?.partition, (hash & 0x7fffffff) % 7, key);
  }
});

test("a handler that throws before commit gets the batch again after a restart", async (t) => {
  const { s, topic, producer } = await topicWithProducer(t, "redeliver", 1);
  const groupId = `${s.topicPrefix}g`;
  await producer.send(topic, [{ value: "a" }, { value: "b" }, { value: "c" }]);

  // First consumer: sees the records, fails every attempt, never commits; then it is stopped.
  const seenByFirst: string[] = [];
  const first = s.kafka.createConsumer({
    groupId,
    topics: [topic],
    initialBackoffMs: 20,
    handler: async (b) => {
      seenByFirst.push(...b.records.map((r) => r.value?.toString() ?? ""));
      throw new Error("simulated failure before the work is durable");
    },
  });
  await first.start();
  const deadline = Date.now() + 30_000;
  while (seenByFirst.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await first.close();
  assert.deepEqual(seenByFirst.slice(0, 3), ["a", "b", "c"]);
  assert.deepEqual(await s.kafka.groupOffsets(groupId, topic), [{ partition: 0, offset: "-1" }], "nothing committed");

  // Restart in the same group: the same records arrive again, and this time they are committed.
  const got: ConsumedRecord[] = [];
  const second = s.kafka.createConsumer({ groupId, topics: [topic], handler: async (b) => void got.push(...b.records) });
  t.after(() => second.close());
  await second.start();
  await collect(3, 30_000, got);
  assert.deepEqual(got.map((r) => r.value?.toString()), ["a", "b", "c"]);
  assert.deepEqual(await committedOnceAt(s, groupId, topic, "3"), [{ partition: 0, offset: "3" }]);
});

test("a batch that fails once is retried in place and nothing is skipped", async (t) => {
  const { s, topic, producer } = await topicWithProducer(t, "retry", 1);
  await producer.send(topic, ["1", "2", "3", "4"].map((value) => ({ value })));
  const done: string[] = [];
  let failures = 0;
  const consumer = s.kafka.createConsumer({
    groupId: `${s.topicPrefix}g`,
    topics: [topic],
    initialBackoffMs: 20,
    handler: async (b, ctx) => {
      if (ctx.attempt === 1 && failures === 0) {
        failures++;
        throw new Error("transient");
      }
      done.push(...b.records.map((r) => r.value?.toString() ?? ""));
    },
  });
  t.after(() => consumer.close());
  await consumer.start();
  const deadline = Date.now() + 30_000;
  while (done.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(failures, 1);
  assert.deepEqual(done, ["1", "2", "3", "4"]);
});

test("a consumer kafkajs stops for good (an error it does not retry) restarts by itself and loses nothing", async (t) => {
  const { s, topic, producer } = await topicWithProducer(t, "crash", 1);
  await producer.send(topic, ["1", "2", "3"].map((value) => ({ value })));
  const done: string[] = [];
  let thrown = 0;
  const metrics = createMetrics({ service: "test", defaultMetrics: false });
  const consumer = s.kafka.createConsumer({
    groupId: `${s.topicPrefix}g`,
    topics: [topic],
    metrics,
    maxAttempts: 1,
    initialBackoffMs: 20,
    handler: async (b) => {
      // kafkajs retries most errors, but gives up on a TypeError (and on what Kafka calls
      // non-retriable) and stops the consumer without restarting it.
      if (thrown++ === 0) throw new TypeError("simulated bug on the first batch");
      done.push(...b.records.map((r) => r.value?.toString() ?? ""));
    },
  });
  t.after(() => consumer.close());
  await consumer.start();
  const deadline = Date.now() + 30_000;
  while (done.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(done, ["1", "2", "3"]);
  assert.equal(thrown, 2, "the failed batch came again once");
  assert.match(await metrics.registry.metrics(), /^loopline_consumer_restarts_total\{service="test"\} 1$/m);
  assert.deepEqual(await committedOnceAt(s, `${s.topicPrefix}g`, topic, "3"), [{ partition: 0, offset: "3" }]);
});

test("after an outage long enough for kafkajs to restart the consumer, it rejoins its group as the same member", async (t) => {
  // The restarted consumer could not leave the group while the broker was down, so the restarted
  // broker still counts its old member in. Joined as a new member, the group would wait a whole
  // session timeout for the old one to expire (30 s of consuming nothing); rejoined under its old
  // member id (patches/kafkajs@2.2.4.patch), it goes on at once.
  const later = cleanupInReverse(t); // the broker closes last, after its clients
  const broker = await startPrivateKafka();
  later(broker.close);
  const kafkajsLog: string[] = [];
  const logger = createLogger({ name: "test", level: "error", write: (line) => void kafkajsLog.push(line) });
  const kafka = createKafka({ brokers: broker.brokers, clientId: "rejoin-test", logger, clientLogLevel: "error" });
  later(() => kafka.close());
  const groupMembers = async () => {
    const admin = new Kafka({ brokers: broker.brokers, clientId: "rejoin-test-admin", logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups(["g"]);
      return groups.flatMap((g) => g.members.map((m) => m.memberId));
    } finally {
      await admin.disconnect();
    }
  };
  await kafka.ensureTopics([{ topic: "rejoin", partitions: 1 }]);
  const producer = await kafka.createProducer();
  later(() => producer.close());
  const got: string[] = [];
  const consumer = kafka.createConsumer({ groupId: "g", topics: ["rejoin"], handler: async (b) => void got.push(...b.records.map((r) => r.value?.toString() ?? "")) });
  later(() => consumer.close());
  await consumer.start();
  await producer.send("rejoin", [{ value: "before" }]);
  await eventually(async () => got.length, (n) => n === 1, { what: "the record sent before the outage consumed" });
  const before = await groupMembers();
  assert.equal(before.length, 1);

  await broker.kill();
  await eventually(async () => kafkajsLog.some((line) => line.includes("Restarting the consumer")), Boolean, { timeoutMs: 90_000, what: "kafkajs restarting its consumer" });
  await broker.start();
  await producer.send("rejoin", [{ value: "after" }]);
  // Long enough for the old member to expire if the group waited for it, so that a regression shows
  // as a new member id below rather than as a timeout here.
  await eventually(async () => got, (g) => g.includes("after"), { timeoutMs: 60_000, what: "the record sent after the outage consumed" });
  assert.deepEqual(await groupMembers(), before, "the same member, not a new one");
  assert.deepEqual(got, ["before", "after"]);
});

test("a consumer closed while its join waits on a stuck member closes without waiting for the rebalance", async (t) => {
  // Kafka holds a JoinGroup until every known member has rejoined or timed out, and kafkajs'
  // disconnect waits for pending requests: before, a service stopped in that state (say, started
  // just after a broker restart, with members that could not leave still counted) sat through
  // its whole shutdown grace and was forced out.
  const { s, topic, producer } = await topicWithProducer(t, "stuck-join", 1);
  const groupId = `${s.topicPrefix}stuck`;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const stuck = new Kafka({ brokers: s.endpoints.kafkaBrokers, clientId: "stuck-member", logLevel: logLevel.NOTHING }).consumer({
    groupId,
    sessionTimeout: 120_000,
    rebalanceTimeout: 120_000,
  });
  let stuckGotBatch = false;
  await stuck.connect();
  await stuck.subscribe({ topic, fromBeginning: true });
  await stuck.run({
    eachBatch: async () => {
      stuckGotBatch = true;
      await released; // neither heartbeats nor rejoins until released
    },
  });
  t.after(async () => {
    release();
    await stuck.disconnect();
  });
  await producer.send(topic, [{ value: "x" }]);
  await eventually(async () => stuckGotBatch, Boolean, { what: "the first member holding a batch" });

  const kafkajsLog: string[] = [];
  const logger = createLogger({ name: "test", level: "error", write: (line) => void kafkajsLog.push(line) });
  const kafka = createKafka({ brokers: s.endpoints.kafkaBrokers, clientId: "stuck-join-test", logger, clientLogLevel: "error" });
  t.after(() => kafka.close());
  // The shortest session the broker allows: the member the abandoned join makes is dropped after it.
  const consumer = kafka.createConsumer({ groupId, topics: [topic], sessionTimeoutMs: 6000, handler: async () => {} });
  const started = consumer.start().catch(() => undefined); // pends until the join, which the stuck member holds up
  t.after(() => consumer.close()); // runs first: whatever fails below, this member goes too
  const admin = new Kafka({ brokers: s.endpoints.kafkaBrokers, clientId: "stuck-admin", logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await eventually(async () => (await admin.describeGroups([groupId])).groups[0]?.state, (state) => state === "PreparingRebalance", { what: "the group rebalancing" });

  const outcome = await Promise.race([
    consumer.close().then(() => "closed" as const),
    new Promise<"still waiting">((r) => setTimeout(() => r("still waiting"), 30_000).unref()),
  ]);
  assert.equal(outcome, "closed", "close returned before the rebalance could complete (the stuck member holds it for 120 s)");
  assert.equal((await admin.describeGroups([groupId])).groups[0]?.state, "PreparingRebalance", "the rebalance is still waiting on the stuck member");

  // The join the closed consumer left behind completes once the stuck member goes; kafkajs then
  // finds its connection closed and, restarting as after any retriable crash, would rejoin.
  release();
  await stuck.disconnect();
  await started;
  await eventually(async () => kafkajsLog.some((line) => line.includes("Crash:")), Boolean, { what: "the abandoned join ending on the closed connection" });
  await eventually(async () => (await admin.describeGroups([groupId])).groups[0]?.state, (state) => state === "Empty", { what: "the group empty" });
  assert.deepEqual(kafkajsLog.filter((line) => line.includes("Restarting the consumer")), [], "a closed consumer is not restarted");
});

test("waitUntilReachable waits while the broker is down and resolves once it is back", async (t) => {
  const later = cleanupInReverse(t); // the broker closes last, after its clients
  const broker = await startPrivateKafka();
  later(broker.close);
  await broker.kill();
  const kafka = createKafka({ brokers: broker.brokers, clientId: "wait-test", logger: silentLogger });
  later(() => kafka.close());
  let reached = false;
  const waiting = kafka.waitUntilReachable().then(() => void (reached = true));
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(reached, false, "resolved while nothing listened");
  await broker.start();
  await waiting;
  assert.deepEqual(await kafka.ensureTopics([{ topic: "after-wait", partitions: 1 }]), ["after-wait"]);
});

test("waitUntilReachable gives up when the client is closed", async () => {
  const port = await freePort(); // nothing listens there
  const kafka = createKafka({ brokers: [`127.0.0.1:${port}`], clientId: "wait-test", logger: silentLogger });
  const waiting = kafka.waitUntilReachable();
  await new Promise((r) => setTimeout(r, 500));
  await kafka.close();
  await assert.rejects(waiting, /closed while waiting/);
});

test("a consumer with commit: false reads everything and leaves no offset in its group", async (t) => {
  const { s, topic, producer } = await topicWithProducer(t, "nocommit", 1);
  await producer.send(topic, ["1", "2", "3"].map((value) => ({ value })));
  const got: ConsumedRecord[] = [];
  const groupId = `${s.topicPrefix}g`;
  const consumer = s.kafka.createConsumer({ groupId, topics: [topic], commit: false, handler: async (b) => void got.push(...b.records) });
  t.after(() => consumer.close());
  await consumer.start();
  await collect(3, 30_000, got);
  await producer.send(topic, [{ value: "4" }]);
  await collect(4, 30_000, got);
  assert.deepEqual(got.map((r) => r.value?.toString()), ["1", "2", "3", "4"], "each record once: the fetch position still moves on");
  assert.deepEqual(await s.kafka.groupOffsets(groupId, topic), [{ partition: 0, offset: "-1" }]);
});

test("a dead letter keeps the original key, bytes and headers and carries the reason", async (t) => {
  const s = await isolateStack(t);
  const topic = `${s.topicPrefix}events`;
  await s.kafka.ensureTopics([{ topic, partitions: 1 }, { topic: dlqTopic(topic), partitions: 1 }]);
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  const original = Buffer.from([0x7b, 0x22, 0xff, 0x00, 0x0a]); // '{"' then bytes that are not UTF-8
  await producer.send(topic, [{ key: "card-9", value: original, headers: { "content-type": "application/json", trace: "abc" } }]);

  const consumed: ConsumedRecord[] = [];
  const c1 = s.kafka.createConsumer({
    groupId: `${s.topicPrefix}ingest`,
    topics: [topic],
    handler: async (b) => {
      await publishDeadLetters(producer, "kit-test", b.records.map((record) => ({ record, reason: { code: "MALFORMED_JSON", detail: "value is not valid JSON" } })));
      consumed.push(...b.records);
    },
  });
  t.after(() => c1.close());
  await c1.start();
  await collect(1, 30_000, consumed);

  const letters: ConsumedRecord[] = [];
  const c2 = s.kafka.createConsumer({ groupId: `${s.topicPrefix}dlq-reader`, topics: [dlqTopic(topic)], handler: async (b) => void letters.push(...b.records) });
  t.after(() => c2.close());
  await c2.start();
  await collect(1, 30_000, letters);
  const dl = letters[0] as ConsumedRecord;
  assert.deepEqual(dl.value, original, "original bytes, untouched");
  assert.equal(dl.key?.toString(), "card-9");
  assert.equal(dl.headers["trace"]?.toString(), "abc");
  assert.equal(dl.headers["content-type"]?.toString(), "application/json");
  assert.equal(dl.headers[DLQ_HEADERS.reason]?.toString(), "MALFORMED_JSON");
  assert.equal(dl.headers[DLQ_HEADERS.detail]?.toString(), "value is not valid JSON");
  assert.equal(dl.headers[DLQ_HEADERS.sourceTopic]?.toString(), topic);
  assert.equal(dl.headers[DLQ_HEADERS.sourceOffset]?.toString(), "0");
});

test("pipelined: one batch per partition in the handler, in offset order, each committed before the next starts", async (t) => {
  const { s, topic, producer } = await topicWithProducer(t, "pipelined", 1);
  const groupId = `${s.topicPrefix}g`;
  // Eight sends, eight record batches; a small fetch size hands them over a few at a time.
  for (let send = 0; send < 8; send++) await producer.send(topic, Array.from({ length: 5 }, (_, i) => ({ key: "k", value: `${send * 5 + i}`.padStart(100, "0") })));

  const handled: number[] = [];
  const committedAtStart: { first: number; committed: string }[] = [];
  let active = 0;
  let maxActive = 0;
  let failedOnce = false;
  const consumer = s.kafka.createConsumer({
    groupId,
    topics: [topic],
    pipeline: true,
    maxBytesPerPartition: 600,
    initialBackoffMs: 20,
    handler: async (b) => {
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        const first = Number(b.records[0]?.offset);
        committedAtStart.push({ first, committed: (await s.kafka.groupOffsets(groupId, topic))[0]?.offset ?? "?" });
        if (first > 0 && !failedOnce) {
          failedOnce = true;
          throw new Error("simulated failure of a later batch: retried in place, nothing after it runs first");
        }
        await new Promise((r) => setTimeout(r, 30)); // time for kafkajs to fetch ahead meanwhile
        handled.push(...b.records.map((r) => Number(r.value?.toString())));
      } finally {
        active--;
      }
    },
  });
  t.after(() => consumer.close());
  await consumer.start();
  const deadline = Date.now() + 30_000;
  while (handled.length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(handled, Array.from({ length: 40 }, (_, i) => i), "every record once, in offset order");
  assert.equal(maxActive, 1, "one batch of the partition in the handler at a time");
  assert.ok(failedOnce);
  assert.ok(committedAtStart.length >= 3, `several batches (got ${committedAtStart.length})`);
  // Each batch starts when the one before it is committed, and never later than that: the committed
  // offset at a batch's start is exactly its first offset (nothing before the first batch).
  for (const { first, committed } of committedAtStart) assert.equal(committed, first === 0 ? "-1" : String(first), `batch at ${first}`);
  assert.deepEqual(await committedOnceAt(s, groupId, topic, "40"), [{ partition: 0, offset: "40" }]);
});

test("pipelined consumer refuses a finite maxAttempts", async (t) => {
  const s = await isolateStack(t);
  assert.throws(() => s.kafka.createConsumer({ groupId: "g", topics: ["t"], pipeline: true, maxAttempts: 3, handler: async () => undefined }), /leave maxAttempts at Infinity/);
});
