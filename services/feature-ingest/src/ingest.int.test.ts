import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { builtinRegistry, compareEvents, replayEvents, type Event } from "@loopline/features";
import { UnavailableError, createKafka, createLogger, createMetrics, silentLogger, type ConsumedRecord, type KafkaProducer, type OutgoingRecord } from "@loopline/kit";
import { fromFeatureValue } from "@loopline/proto";
import { FeatureUpdateSchema } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { cleanupInReverse, eventually, isolateStack, startPrivateKafka, startPrivateRedis, type IsolatedStack } from "@loopline/testkit";
import { loadFeatureIngestConfig } from "./config.js";
import { createFeatureIngestService } from "./service.js";

// Integration: feature-ingest as a real process against the real Kafka and Redis.

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const view = builtinRegistry.getView("card_txn");

/** feature-ingest's environment on an isolated stack (the streams below are dated in the past). */
function ingestEnv(s: IsolatedStack): Record<string, string> {
  return {
    LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(","),
    LOOPLINE_REDIS_URL: s.endpoints.redisUrl,
    LOOPLINE_TOPIC_PREFIX: s.topicPrefix,
    LOOPLINE_FEATURE_INGEST_STATE_PREFIX: s.redisPrefix,
    LOOPLINE_FEATURE_INGEST_GROUP: `${s.topicPrefix}ingest`,
    LOOPLINE_FEATURE_INGEST_ADMIN_PORT: "0",
    LOOPLINE_FEATURE_INGEST_MAX_CLOCK_SKEW: "3650d",
  };
}

function startIngest(s: IsolatedStack): ChildProcess {
  const child = spawn(process.execPath, ["--conditions=@loopline/source", "--import", "tsx", MAIN], {
    // A fold every 60 events per partition: the state a restart loads comes from folded snapshots
    // as well as the journal (loads in the middle of a fold: state-store.int.test.ts).
    env: { ...process.env, ...ingestEnv(s), LOOPLINE_FEATURE_INGEST_SESSION_TIMEOUT: "6s", LOOPLINE_FEATURE_INGEST_FOLD_EVENTS: "60", LOOPLINE_LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return child;
}

/** A seeded stream: 40 cards, 1200 transactions over ~2 hours, shuffled within 2 minutes, 5% redelivered. */
function makeStream(seed: number): { records: OutgoingRecord[]; events: Event[] } {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const t0 = Date.UTC(2026, 10, 20, 8, 0, 0);
  const events: Event[] = [];
  for (let i = 0; i < 1200; i++) {
    const card = `card-${Math.floor(rnd() * 40)}`;
    events.push({
      eventId: `ev-${i}`,
      entity: "card",
      entityId: card,
      eventTime: t0 + i * 6000,
      type: "transaction",
      fields: {
        amount: Math.round(rnd() * 50_000) / 100,
        merchant_category: ["5411", "5812", "5999", "4829"][Math.floor(rnd() * 4)] as string,
        country: ["US", "FR", "DE"][Math.floor(rnd() * 3)] as string,
        channel: ["pos", "ecom", "atm"][Math.floor(rnd() * 3)] as string,
      },
    });
  }
  // Arrival order: event time plus up to 2 minutes of jitter (within card_txn's 5 minutes of lateness).
  const arrival = events.map((e) => ({ e, at: e.eventTime + rnd() * 120_000 })).sort((a, b) => a.at - b.at).map((x) => x.e);
  const withDupes: Event[] = [];
  for (const e of arrival) {
    withDupes.push(e);
    if (rnd() < 0.05) withDupes.push(e);
  }
  const records = withDupes.map((e) => ({
    key: e.entityId,
    value: JSON.stringify({ event_id: e.eventId, entity: "card", entity_id: e.entityId, event_time: new Date(e.eventTime).toISOString(), type: "transaction", fields: e.fields }),
  }));
  return { records, events };
}

/** Sends records [from, to) to a topic, 100 per request, in order. */
async function sendRecords(producer: KafkaProducer, topic: string, records: readonly OutgoingRecord[], from = 0, to = records.length): Promise<void> {
  for (let i = from; i < to; i += 100) await producer.send(topic, records.slice(i, Math.min(to, i + 100)));
}

async function waitForCommitted(s: IsolatedStack, group: string, topic: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ends = await s.kafka.topicEndOffsets(topic);
    const committed = await s.kafka.groupOffsets(group, topic);
    const done = ends.every((e) => committed.find((c) => c.partition === e.partition)?.offset === e.offset);
    if (done) return;
    if (Date.now() > deadline) throw new Error(`ingest did not catch up: ends ${JSON.stringify(ends)} committed ${JSON.stringify(committed)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function readAll(s: IsolatedStack, topic: string, expectAtLeast: number): Promise<ConsumedRecord[]> {
  const got: ConsumedRecord[] = [];
  const c = s.kafka.createConsumer({ groupId: `${s.topicPrefix}reader-${topic}`, topics: [topic], handler: async (b) => void got.push(...b.records) });
  await c.start();
  const deadline = Date.now() + 30_000;
  while (got.length < expectAtLeast && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500));
  await c.close();
  return got;
}

test("killing feature-ingest mid-stream and restarting it gives exactly the features of a clean replay", async (t) => {
  const s = await isolateStack(t);
  const eventsTopic = `${s.topicPrefix}events`;
  const { records, events } = makeStream(7);
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());

  let child = startIngest(s);
  t.after(() => void child.kill("SIGKILL"));
  // The service creates its topics; wait for them before producing.
  for (let i = 0; i < 100 && !(await s.kafka.listTopics()).includes(eventsTopic); i++) await new Promise((r) => setTimeout(r, 100));
  const half = Math.floor(records.length / 2);
  await sendRecords(producer, eventsTopic, records, 0, half);
  // Let it get partway, then kill it without any chance to flush or commit.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const committed = await s.kafka.groupOffsets(`${s.topicPrefix}ingest`, eventsTopic);
    if (committed.some((c) => Number(c.offset) > 0)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  await sendRecords(producer, eventsTopic, records, half);
  child = startIngest(s);
  await waitForCommitted(s, `${s.topicPrefix}ingest`, eventsTopic, 90_000);

  await assertFeaturesEqualReplay(s, events);
});

/** What a store keeps from the features topic (per card, the greatest (asOf, revision)) equals a clean replay. */
async function assertFeaturesEqualReplay(s: IsolatedStack, events: readonly Event[]): Promise<void> {
  const updates = await readAll(s, `${s.topicPrefix}features`, events.length);
  const kept = new Map<string, { asOf: number; revision: number; values: Record<string, unknown> }>();
  for (const r of updates) {
    const u = fromBinary(FeatureUpdateSchema, r.value ?? new Uint8Array());
    const cand = { asOf: Number(u.eventTimeMs), revision: Number(u.revision), values: Object.fromEntries(Object.entries(u.values).map(([k, v]) => [k, fromFeatureValue(v)])) };
    const held = kept.get(u.entityId);
    if (held === undefined || cand.asOf > held.asOf || (cand.asOf === held.asOf && cand.revision > held.revision)) kept.set(u.entityId, cand);
  }
  // Reference: a clean replay of the distinct events in event-time order, by the same package's engine.
  const replay = replayEvents(view, [...events].sort(compareEvents));
  const expected = new Map<string, (typeof replay.updates)[number]>();
  for (const u of replay.updates) expected.set(u.entityId, u);
  assert.equal(kept.size, expected.size);
  for (const [card, exp] of expected) {
    const got = kept.get(card);
    assert.ok(got, card);
    assert.equal(got.asOf, exp.asOf, `${card} asOf`);
    assert.equal(got.revision, exp.revision, `${card}: each event counted exactly once`);
    assert.deepEqual(got.values, { ...exp.values }, `${card} values`);
  }
}

test("a publish that fails halfway is retried from the checkpoint: no update is lost, no event counted twice", async (t) => {
  const s = await isolateStack(t);
  const eventsTopic = `${s.topicPrefix}events`;
  const featuresTopic = `${s.topicPrefix}features`;
  const { records, events } = makeStream(11);
  const config = loadFeatureIngestConfig(ingestEnv(s));
  // Every third publish of feature updates gets half its records out, then fails as an outage would.
  let sends = 0;
  let failures = 0;
  const flaky = (p: KafkaProducer): KafkaProducer => ({
    ...p,
    send: async (topic, recs) => {
      if (topic !== featuresTopic || recs.length < 2 || ++sends % 3 !== 0) return p.send(topic, recs);
      failures++;
      await p.send(topic, recs.slice(0, recs.length >> 1));
      throw new UnavailableError("kafka", "injected: publish failed halfway");
    },
  });
  const service = createFeatureIngestService(config, { logger: silentLogger, metrics: createMetrics({ service: "feature-ingest" }), wrapProducer: flaky });
  await service.start();
  t.after(() => service.close());
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  await sendRecords(producer, eventsTopic, records);
  await waitForCommitted(s, `${s.topicPrefix}ingest`, eventsTopic, 90_000);
  assert.ok(failures > 0, "the fault was injected");
  await assertFeaturesEqualReplay(s, events);
});

test("a second instance joining mid-stream takes partitions over: features equal a clean replay", async (t) => {
  // Scale-out by partitions, with the pipelined consumer: the first instance has batches in hand
  // when the group rebalances; the second loads the moved partitions' state from Redis.
  const s = await isolateStack(t);
  const eventsTopic = `${s.topicPrefix}events`;
  const { records, events } = makeStream(23);
  const config = loadFeatureIngestConfig({ ...ingestEnv(s), LOOPLINE_FEATURE_INGEST_SESSION_TIMEOUT: "6s" });
  const instance = (logger = silentLogger) => {
    const metrics = createMetrics({ service: "feature-ingest", defaultMetrics: false });
    const service = createFeatureIngestService(config, { logger, metrics });
    t.after(() => service.close());
    const accepted = async () => {
      const values = (await metrics.registry.getSingleMetric("loopline_feature_ingest_events_total")?.get())?.values ?? [];
      return values.filter((v) => v.labels["outcome"] === "accepted").reduce((n, v) => n + v.value, 0);
    };
    return { service, accepted };
  };
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  const first = instance();
  await first.service.start();
  const half = records.length >> 1;
  await sendRecords(producer, eventsTopic, records, 0, half);
  for (let i = 0; i < 200 && (await first.accepted()) === 0; i++) await new Promise((r) => setTimeout(r, 100));

  // The second instance says when the group has given it partitions.
  let assigned: unknown;
  const watcher = { ...silentLogger, info: (msg: string, fields?: Record<string, unknown>) => void (msg === "partitions assigned" && (assigned = fields?.["assignment"])), child: () => watcher };
  const second = instance(watcher);
  await second.service.start();
  for (let i = 0; i < 300 && assigned === undefined; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(assigned !== undefined, "the second instance joined the group");
  await sendRecords(producer, eventsTopic, records, half);
  await waitForCommitted(s, `${s.topicPrefix}ingest`, eventsTopic, 90_000);

  assert.ok((await second.accepted()) > 0, "the second instance processed events of its partitions");
  await assertFeaturesEqualReplay(s, events);
});

test("Redis down mid-stream: feature-ingest holds its offsets, resumes by itself when Redis returns, and the features equal a clean replay", async (t) => {
  // Window state lives in Redis: a Redis outage must pause the ingest (no checkpoint, so no commit),
  // never crash it or count an event twice. The Redis keeps an append-only file as infra/local's
  // does, so the kill is an outage, not a loss of the state.
  const s = await isolateStack(t);
  const redis = await startPrivateRedis(t, { appendOnly: true });
  const eventsTopic = `${s.topicPrefix}events`;
  const group = `${s.topicPrefix}ingest`;
  const { records, events } = makeStream(31);
  const config = loadFeatureIngestConfig({ ...ingestEnv(s), LOOPLINE_REDIS_URL: redis.url, LOOPLINE_FEATURE_INGEST_FOLD_EVENTS: "60" });
  const service = createFeatureIngestService(config, { logger: silentLogger, metrics: createMetrics({ service: "feature-ingest", defaultMetrics: false }) });
  await service.start();
  t.after(() => service.close());
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  const third = Math.floor(records.length / 3);
  await sendRecords(producer, eventsTopic, records, 0, third);
  await waitForCommitted(s, group, eventsTopic, 60_000);

  await redis.kill();
  await sendRecords(producer, eventsTopic, records, third, 2 * third);
  // Long enough for several attempts of each partition's batch and their failed checkpoints.
  await new Promise((r) => setTimeout(r, 4000));
  const ready = await fetch(`http://127.0.0.1:${service.adminPort}/readyz`);
  assert.equal(ready.status, 503, "not ready while Redis is down");
  assert.match(await ready.text(), /redis/);
  const committed = (await s.kafka.groupOffsets(group, eventsTopic)).reduce((n, c) => n + Math.max(0, Number(c.offset)), 0);
  assert.equal(committed, third, "nothing committed past the last checkpoint while Redis is down");

  await redis.start();
  await sendRecords(producer, eventsTopic, records, 2 * third);
  await waitForCommitted(s, group, eventsTopic, 90_000);
  assert.equal((await fetch(`http://127.0.0.1:${service.adminPort}/readyz`)).status, 200, "ready again");
  await assertFeaturesEqualReplay(s, events);
});

/**
 * An isolated stack whose Kafka is a broker of the test's own, to kill and restart. `later` runs
 * cleanup steps in reverse: what the test registers closes before the broker and its client.
 */
async function stackWithPrivateKafka(t: TestContext) {
  const base = await isolateStack(t);
  const later = cleanupInReverse(t); // the broker closes last, after its clients
  const broker = await startPrivateKafka();
  later(broker.close);
  const kafka = createKafka({ brokers: broker.brokers, clientId: `test-${base.id}`, logger: silentLogger, clientLogLevel: "error" });
  later(() => kafka.close());
  const s: IsolatedStack = { ...base, kafka, endpoints: { ...base.endpoints, kafkaBrokers: broker.brokers } };
  return { s, broker, later };
}

test("Kafka killed mid-stream: feature-ingest rides out the outage by itself, and the features equal a clean replay", async (t) => {
  // A broker of the test's own, killed while a third of the stream is still being worked on: the
  // service's consumer and producer retry until it is back, nothing is committed that was not
  // published, and a publish that was written but not acknowledged only repeats an update.
  const { s, broker, later } = await stackWithPrivateKafka(t);
  const eventsTopic = `${s.topicPrefix}events`;
  const group = `${s.topicPrefix}ingest`;
  const { records, events } = makeStream(47);
  const config = loadFeatureIngestConfig({ ...ingestEnv(s), LOOPLINE_FEATURE_INGEST_FOLD_EVENTS: "60" });
  // Its log is kept, and shown if the ingest does not catch up. Twice in about forty runs one
  // partition stayed at its offset from before the kill: the broker answered every send of the
  // idempotent producer with OUT_OF_ORDER_SEQUENCE_NUMBER, until the kit began replacing such a
  // producer (packages/kit/src/kafka.ts, lostProducerState).
  const logLines: string[] = [];
  const logger = createLogger({ name: "feature-ingest", level: "info", write: (line) => void logLines.push(line) });
  const service = createFeatureIngestService(config, { logger, metrics: createMetrics({ service: "feature-ingest", defaultMetrics: false }) });
  await service.start();
  later(() => service.close());
  const producer = await s.kafka.createProducer();
  later(() => producer.close());
  const third = Math.floor(records.length / 3);
  await sendRecords(producer, eventsTopic, records, 0, third);
  await waitForCommitted(s, group, eventsTopic, 60_000);

  await sendRecords(producer, eventsTopic, records, third, 2 * third);
  await broker.kill();
  await new Promise((r) => setTimeout(r, 3000));
  await broker.start();
  await sendRecords(producer, eventsTopic, records, 2 * third);
  await waitForCommitted(s, group, eventsTopic, 120_000).catch((err: unknown) => {
    process.stderr.write(`feature-ingest's log, its last 80 lines:\n${logLines.slice(-80).join("")}`);
    throw err;
  });
  await assertFeaturesEqualReplay(s, events);
});

test("started while Kafka is down: feature-ingest stays up and not ready, and starts by itself once Kafka comes", async (t) => {
  const { s, broker, later } = await stackWithPrivateKafka(t);
  await broker.kill();
  const service = createFeatureIngestService(loadFeatureIngestConfig(ingestEnv(s)), { logger: silentLogger, metrics: createMetrics({ service: "feature-ingest", defaultMetrics: false }) });
  let outcome = "starting";
  const starting = service.start().then(
    () => void (outcome = "started"),
    (err: unknown) => void (outcome = `failed: ${String(err)}`),
  );
  later(() => service.close());
  const admin = await eventually(async () => service.adminPort, (port) => port !== 0, { what: "the admin server listening" });
  // Longer than kafkajs' own connection retries (about 10 s), after which a start used to fail.
  await new Promise((r) => setTimeout(r, 15_000));
  assert.equal((await fetch(`http://127.0.0.1:${admin}/healthz`)).status, 200, "alive");
  assert.equal((await fetch(`http://127.0.0.1:${admin}/readyz`)).status, 503, "not ready");
  assert.equal(outcome, "starting", "start() ended with no broker to talk to");

  await broker.start();
  await starting;
  assert.equal(outcome, "started");
  const { records, events } = makeStream(11);
  const producer = await s.kafka.createProducer();
  later(() => producer.close());
  await sendRecords(producer, `${s.topicPrefix}events`, records);
  await waitForCommitted(s, `${s.topicPrefix}ingest`, `${s.topicPrefix}events`, 60_000);
  assert.equal((await fetch(`http://127.0.0.1:${admin}/readyz`)).status, 200, "ready");
  await assertFeaturesEqualReplay(s, events);
});

test("each class of bad input reaches loopline.events.dlq with its reason through the real Kafka", async (t) => {
  const s = await isolateStack(t);
  const eventsTopic = `${s.topicPrefix}events`;
  const child = startIngest(s);
  t.after(() => void child.kill("SIGKILL"));
  for (let i = 0; i < 100 && !(await s.kafka.listTopics()).includes(eventsTopic); i++) await new Promise((r) => setTimeout(r, 100));
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  const now = Date.now();
  const ok = { event_id: "x", entity: "card", entity_id: "c9", event_time: now - 1000, type: "transaction", fields: { amount: 1, merchant_category: "5411", country: "US", channel: "pos" } };
  const bad: [string, string][] = [
    ["MALFORMED_JSON", "{broken"],
    ["UNKNOWN_ENTITY", JSON.stringify({ ...ok, event_id: "b1", entity: "merchant" })],
    ["UNKNOWN_TYPE", JSON.stringify({ ...ok, event_id: "b2", type: "refund" })],
    ["MISSING_FIELD", JSON.stringify({ ...ok, event_id: "b3", fields: { merchant_category: "5411", country: "US", channel: "pos" } })],
    ["INVALID_FIELD_TYPE", JSON.stringify({ ...ok, event_id: "b4", fields: { ...ok.fields, amount: "1" } })],
    ["BAD_EVENT_TIME", JSON.stringify({ ...ok, event_id: "b5", event_time: "not a time" })],
    ["NON_FINITE_NUMBER", JSON.stringify({ ...ok, event_id: "b6" }).replace('"amount":1', '"amount":1e999')],
    ["OVERSIZE", JSON.stringify({ ...ok, event_id: "b7", fields: { ...ok.fields, note: "x".repeat(70_000) } })],
  ];
  await producer.send(eventsTopic, [
    { key: "c9", value: JSON.stringify(ok) },
    ...bad.map(([, value]) => ({ key: "c9", value })),
    // Far in the past for this card: the first event set its watermark to now - 1s.
    { key: "c9", value: JSON.stringify({ ...ok, event_id: "b8", event_time: now - 3_600_000 }) },
  ]);
  const letters = await readAll(s, `${eventsTopic}.dlq`, bad.length + 1);
  const reasons = letters.map((r) => r.headers["loopline-dlq-reason"]?.toString()).sort();
  assert.deepEqual(reasons, [...bad.map(([code]) => code), "TOO_LATE"].sort());
  const broken = letters.find((r) => r.headers["loopline-dlq-reason"]?.toString() === "MALFORMED_JSON");
  assert.equal(broken?.value?.toString(), "{broken", "original bytes kept");
  assert.match(letters.find((r) => r.headers["loopline-dlq-reason"]?.toString() === "MISSING_FIELD")?.headers["loopline-dlq-detail"]?.toString() ?? "", /amount/);
});
