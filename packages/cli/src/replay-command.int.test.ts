import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { createFeatureIngestService, loadFeatureIngestConfig } from "@loopline/feature-ingest";
import { createMetrics, silentLogger } from "@loopline/kit";
import { toFeatureValue, type PlainValue } from "@loopline/proto";
import { EventSchema } from "@loopline/proto/gen/loopline/v1/events_pb.js";
import { eventually, freePort, isolateStack } from "@loopline/testkit";
import { replayCommand } from "./replay-command.js";
import { capture } from "./capture.test-helper.js";
import { stackVariables, startFeatureStore, writeCardVersions } from "./feature-store.test-helper.js";

// Integration: feature-ingest and feature-store in-process on the real Kafka and Redis; the CLI
// replays the same events and compares with what the store serves.

const MIN = 60_000;
// Near the real clock: the store serves and expires by it. The last event is 3 minutes old, so no
// 10-minute feature reaches its max age while the test runs.
const NOW = Math.floor(Date.now() / 1000) * 1000;

async function replay(args: string[], env: Record<string, string>) {
  const io = capture(env);
  const code = await replayCommand.run(args, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

function tx(id: string, card: string, t: number, fields: Record<string, unknown>) {
  return { key: card, value: JSON.stringify({ event_id: id, entity: "card", entity_id: card, event_time: new Date(t).toISOString(), type: "transaction", fields }) };
}

interface JsonReport {
  entities: { entityId: string; watermark: number | null; accepted: number; duplicates: number; invalid: Record<string, number>; features: { name: string; value: PlainValue; status: string; equal?: boolean }[] }[];
  compare?: { equal: number; different: number };
}

const valuesOf = (report: JsonReport, entityId: string) => Object.fromEntries((report.entities.find((e) => e.entityId === entityId)?.features ?? []).map((f) => [f.name, f.value]));

test("replay recomputes what feature-ingest and feature-store serve, and --compare finds a value the store got elsewhere", async (t) => {
  const s = await isolateStack(t);
  const common = stackVariables(s);
  const ingest = createFeatureIngestService(
    loadFeatureIngestConfig({ ...common, LOOPLINE_FEATURE_INGEST_STATE_PREFIX: `${s.redisPrefix}ingest:`, LOOPLINE_FEATURE_INGEST_GROUP: `${s.topicPrefix}ingest`, LOOPLINE_FEATURE_INGEST_ADMIN_PORT: "0" }),
    { logger: silentLogger, metrics: createMetrics({ service: "feature-ingest", defaultMetrics: false }) },
  );
  await ingest.start();
  t.after(() => ingest.close());
  const { address, client } = await startFeatureStore(t, s);

  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  const pos = { merchant_category: "5812", country: "FR", channel: "pos" };
  const protobufEvent = create(EventSchema, {
    eventId: "b2",
    entity: "card",
    entityId: "card-2",
    eventTimeMs: BigInt(NOW - 5 * MIN),
    type: "transaction",
    fields: { amount: toFeatureValue(7.25), merchant_category: toFeatureValue("5411"), country: toFeatureValue("DE"), channel: toFeatureValue("ecom") },
  });
  await producer.send(`${s.topicPrefix}events`, [
    tx("a1", "card-1", NOW - 30 * MIN, { amount: 10, ...pos }),
    tx("a2", "card-1", NOW - 20 * MIN, { amount: 20.5, ...pos, country: "US", channel: "ecom" }),
    tx("a2", "card-1", NOW - 20 * MIN, { amount: 20.5, ...pos, country: "US", channel: "ecom" }), // redelivered
    tx("a-bad", "card-1", NOW - 10 * MIN, { ...pos }), // no amount: dead-lettered as MISSING_FIELD
    tx("b1", "card-2", NOW - 50 * MIN, { amount: 100, ...pos }),
    { key: "card-2", value: Buffer.from(toBinary(EventSchema, protobufEvent)), headers: { "content-type": "application/x-protobuf" } },
    tx("a3", "card-1", NOW - 3 * MIN, { amount: 30, ...pos }),
    tx("c1", "card-3", NOW - 3 * MIN, { amount: 1, ...pos }),
  ]);
  // Both cards may sit on different partitions: wait until the store serves each one's last event.
  await eventually(
    () => client.getOnlineFeatures({ entityIds: ["card-1", "card-2"], features: ["card_txn:txn_count_1h"] }),
    (r) => !(r instanceof Error) && r.columns[0]?.values[0]?.kind.value === 3 && r.columns[0]?.values[1]?.kind.value === 2,
    30_000,
  );

  const env = { LOOPLINE_KAFKA_BROKERS: common.LOOPLINE_KAFKA_BROKERS, LOOPLINE_TOPIC_PREFIX: s.topicPrefix, LOOPLINE_FEATURE_STORE_ADDRESS: address };
  const agree = await replay(["card_txn", "card-1", "card-2", "--compare"], env);
  assert.equal(agree.code, 0, agree.out + agree.err);
  assert.match(agree.out, /^compare: all 48 values equal \(2 entities × 24 features\)$/m);
  assert.match(agree.out, /^card-1 {2}watermark \S+ {2}accepted 3, duplicates 1, invalid: MISSING_FIELD 1$/m);

  // Hand-worked: card-1 has 10, 20.5 and 30 in its last hour; card-2 100 and 7.25 (protobuf, ecom, DE) within 50 minutes.
  const now = JSON.parse((await replay(["card_txn", "card-1", "card-2", "--json"], env)).out) as JsonReport;
  const card1 = valuesOf(now, "card-1");
  assert.deepEqual([card1["txn_count_1h"], card1["amount_sum_1h"], card1["amount_max_1h"], card1["txn_count_10m"], card1["ecom_count_1h"], card1["countries_24h"], card1["last_amount"]], [3, 60.5, 30, 1, 1, 2, 30]);
  const card2 = valuesOf(now, "card-2");
  assert.deepEqual([card2["txn_count_1h"], card2["amount_sum_1h"], card2["amount_min_24h"], card2["last_country"], card2["last_channel"]], [2, 107.25, 7.25, "DE", "ecom"]);
  assert.equal(now.entities[0]?.watermark, NOW - 3 * MIN);

  // As of 15 minutes ago (an as-of read of the store's history): card-1 had its first two events.
  const past = await replay(["card_txn", "card-1", "card-2", "--compare", "--json", "--at", new Date(NOW - 15 * MIN).toISOString()], env);
  assert.equal(past.code, 0, past.out + past.err);
  const pastReport = JSON.parse(past.out) as JsonReport;
  assert.deepEqual(pastReport.compare, { equal: 48, different: 0 });
  assert.deepEqual([valuesOf(pastReport, "card-1")["txn_count_1h"], valuesOf(pastReport, "card-1")["amount_sum_1h"]], [2, 30.5]);

  // The store now gets a newer card-1 version from elsewhere with one value changed.
  const changed = { ...card1, amount_sum_1h: 61 };
  const written = await writeCardVersions(client, [{ entityId: "card-1", eventTimeMs: NOW - 2 * MIN, revision: 99, producedAtMs: NOW, values: changed }]);
  assert.equal(written.written, 1);
  const differ = await replay(["card_txn", "card-1", "card-2", "--compare"], env);
  assert.equal(differ.code, 3, differ.out + differ.err);
  assert.match(differ.out, /^compare: 47 equal, 1 DIFFERENT \(2 entities × 24 features\): card-1 amount_sum_1h$/m);
  assert.match(differ.out, /^amount_sum_1h +60\.5 +PRESENT +61 +PRESENT +DIFFERENT$/m);
});

test("unreachable Kafka or feature-store: one line naming the address and its variable, exit code 1", async (t) => {
  const s = await isolateStack(t);
  const kafkaPort = await freePort();
  const down = await replay(["card_txn", "card-1"], { LOOPLINE_KAFKA_BROKERS: `127.0.0.1:${kafkaPort}` });
  assert.equal(down.code, 1);
  assert.equal(down.err, `loopline replay: Kafka is not reachable at 127.0.0.1:${kafkaPort} (LOOPLINE_KAFKA_BROKERS)\n`);
  assert.equal(down.out, "");

  const env = { LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(","), LOOPLINE_TOPIC_PREFIX: s.topicPrefix };
  const noTopic = await replay(["card_txn", "card-1"], env);
  assert.equal(noTopic.code, 1);
  assert.equal(noTopic.err, `loopline replay: topic ${s.topicPrefix}events does not exist (LOOPLINE_TOPIC_PREFIX is "${s.topicPrefix}")\n`);

  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  await s.kafka.ensureTopics([{ topic: `${s.topicPrefix}events`, partitions: 3 }]);
  await producer.send(`${s.topicPrefix}events`, [tx("a1", "card-1", Date.now() - MIN, { amount: 1, merchant_category: "5812", country: "FR", channel: "pos" })]);
  const storePort = await freePort();
  const noStore = await replay(["card_txn", "card-1", "--compare"], { ...env, LOOPLINE_FEATURE_STORE_ADDRESS: `127.0.0.1:${storePort}` });
  assert.equal(noStore.code, 1);
  assert.match(noStore.err, new RegExp(`^loopline replay: UNAVAILABLE: [^\\n]* \\(feature-store at 127\\.0\\.0\\.1:${storePort}, LOOPLINE_FEATURE_STORE_ADDRESS\\)\\n$`));
  // Without --compare the same read succeeds: the event was read back.
  const alone = await replay(["card_txn", "card-1", "--json"], env);
  assert.equal(alone.code, 0, alone.err);
  assert.equal((JSON.parse(alone.out) as JsonReport).entities[0]?.accepted, 1);
});
