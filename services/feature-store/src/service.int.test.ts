import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createLogger, createMetrics, silentLogger } from "@loopline/kit";
import { createClient, GrpcError, GrpcStatus, toFeatureValue } from "@loopline/proto";
import { FeatureStore, FeatureUpdateSchema } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { eventually, isolateStack, startPrivateRedis, type IsolatedStack } from "@loopline/testkit";
import { loadFeatureStoreConfig } from "./config.js";
import { createFeatureStoreService } from "./service.js";

// Integration: feature-store built in-process against the real Kafka and Redis, driven over gRPC.

const MIN = 60_000;
// Near the real clock, not a fixed date: Redis expires each key at its asOf + max age by its own
// clock, so values dated weeks back would be gone the moment they are written.
const T0 = Math.floor(Date.now() / MIN) * MIN;

function update(entityId: string, asOf: number, revision: number, values: Record<string, number | string | null>) {
  return create(FeatureUpdateSchema, {
    entity: "card",
    entityId,
    view: "card_txn",
    eventTimeMs: BigInt(asOf),
    revision: BigInt(revision),
    producedAtMs: BigInt(asOf),
    values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, toFeatureValue(v)])),
  });
}

async function startStore(t: Parameters<typeof isolateStack>[0], s: IsolatedStack, clock: { now: number }, redisUrl?: string) {
  const config = loadFeatureStoreConfig({
    LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(","),
    LOOPLINE_REDIS_URL: redisUrl ?? s.endpoints.redisUrl,
    LOOPLINE_TOPIC_PREFIX: s.topicPrefix,
    LOOPLINE_FEATURE_STORE_KEY_PREFIX: s.redisPrefix,
    LOOPLINE_FEATURE_STORE_GRPC_PORT: "0",
    LOOPLINE_FEATURE_STORE_ADMIN_PORT: "0",
    LOOPLINE_FEATURE_STORE_GRPC_HOST: "127.0.0.1",
    LOOPLINE_FEATURE_STORE_GROUP: `${s.topicPrefix}feature-store`,
    LOOPLINE_FEATURE_STORE_MAX_ENTITIES: "5",
    LOOPLINE_SHUTDOWN_GRACE: "2s",
  });
  const logger = process.env["LOOPLINE_TEST_LOG"] === "1" ? createLogger({ name: "feature-store-test", level: "debug" }) : silentLogger;
  const service = createFeatureStoreService(config, { logger, metrics: createMetrics({ service: "feature-store", defaultMetrics: false }), now: () => clock.now });
  await service.start();
  t?.after(() => service.close());
  const client = createClient(FeatureStore, `127.0.0.1:${service.grpcPort}`, { timeoutMs: 5000 });
  t?.after(async () => client.close());
  return { service, client };
}

test("updates on loopline.features become readable over gRPC with statuses and as-of times", async (t) => {
  const s = await isolateStack(t);
  const clock = { now: T0 + 1000 };
  const { client } = await startStore(t, s, clock);
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  await producer.send(`${s.topicPrefix}features`, [
    { key: "card-1", value: Buffer.from(toBinary(FeatureUpdateSchema, update("card-1", T0 - 2 * MIN, 1, { txn_count_10m: 1, last_country: "US" }))) },
    { key: "card-1", value: Buffer.from(toBinary(FeatureUpdateSchema, update("card-1", T0, 2, { txn_count_10m: 2, last_country: "FR" }))) },
    { key: "card-2", value: Buffer.from(toBinary(FeatureUpdateSchema, update("card-2", T0 - 30 * MIN, 1, { txn_count_10m: 7, last_country: null }))) },
  ]);
  const req = { entityIds: ["card-1", "card-2", "card-3"], features: ["card_txn:txn_count_10m", "card_txn:last_country"] };
  const res = await eventually(
    () => client.getOnlineFeatures(req),
    // card-1 and card-2 may sit on different partitions: wait for both.
    (r) => !(r instanceof Error) && r.columns[0]?.values[0]?.kind.value === 2 && r.columns[0]?.statuses[1] !== FeatureStatus.NOT_FOUND,
    20_000,
  );
  const [count, country] = res.columns;
  assert.deepEqual(res.entityIds, ["card-1", "card-2", "card-3"]);
  assert.equal(count?.ref, "card_txn:txn_count_10m");
  // card-1: fresh → PRESENT; card-2: 30 min old > 10 min max age → OUTSIDE_MAX_AGE, default 0; card-3: never written.
  assert.deepEqual(count?.statuses, [FeatureStatus.PRESENT, FeatureStatus.OUTSIDE_MAX_AGE, FeatureStatus.NOT_FOUND]);
  assert.deepEqual(count?.values.map((v) => v.kind.value ?? null), [2, 0, 0]);
  assert.deepEqual(count?.eventTimeMs, [BigInt(T0), BigInt(T0 - 30 * MIN), 0n]);
  // last_country's max age is 7d: card-2's stored null is served as NULL_VALUE.
  assert.deepEqual(country?.statuses, [FeatureStatus.PRESENT, FeatureStatus.NULL_VALUE, FeatureStatus.NOT_FOUND]);
  assert.equal(country?.values[0]?.kind.value, "FR");
  // As of one minute before T0, card-1 had its first version.
  const past = await client.getOnlineFeatures({ ...req, asOf: timestampFromMs(T0 - MIN) });
  assert.equal(past.columns[0]?.values[0]?.kind.value, 1);
  assert.equal(past.columns[1]?.values[0]?.kind.value, "US");
  // A named feature set resolves to its refs in order.
  const set = await client.getOnlineFeatures({ entityIds: ["card-1"], featureSet: "fraud_v1" });
  assert.equal(set.columns[0]?.ref, "card_txn:txn_count_10m");
  assert.ok(set.columns.length > 5);
});

test("bad requests get INVALID_ARGUMENT naming the field; WriteFeatures goes through newer-wins", async (t) => {
  const s = await isolateStack(t);
  const { client } = await startStore(t, s, { now: T0 });
  const invalid = async (req: Parameters<typeof client.getOnlineFeatures>[0], pattern: RegExp) => {
    await assert.rejects(client.getOnlineFeatures(req), (err: unknown) => {
      assert.ok(err instanceof GrpcError);
      assert.equal(err.code, GrpcStatus.INVALID_ARGUMENT);
      assert.match(err.message, pattern);
      return true;
    });
  };
  await invalid({ entityIds: ["a"], features: ["card_txn:nope", "ghost:x", "card_txn:txn_count_1h"] }, /features: unknown feature refs: card_txn:nope .*ghost:x/);
  await invalid({ entityIds: ["a"], features: ["not-a-ref"] }, /features: unknown feature refs: not-a-ref/);
  await invalid({ entityIds: ["a", "b", "c", "d", "e", "f"], features: ["card_txn:txn_count_1h"] }, /entity_ids: 6 entity ids in one call; the limit is 5/);
  await invalid({ entityIds: [], features: ["card_txn:txn_count_1h"] }, /entity_ids: at least one/);
  await invalid({ entityIds: ["a"] }, /features: give either/);
  await invalid({ entityIds: ["a"], featureSet: "nope" }, /feature_set: unknown feature set "nope"/);
  await invalid({ entity: "merchant", entityIds: ["a"], features: ["card_txn:txn_count_1h"] }, /keyed by card, not merchant/);

  const first = await client.writeFeatures({ updates: [update("w-1", T0, 5, { txn_count_10m: 9 })] });
  assert.deepEqual([first.written, first.stale], [1, 0]);
  const older = await client.writeFeatures({ updates: [update("w-1", T0 - MIN, 9, { txn_count_10m: 1 })] });
  assert.deepEqual([older.written, older.stale], [0, 1]);
  const read = await client.getOnlineFeatures({ entityIds: ["w-1"], features: ["card_txn:txn_count_10m"] });
  assert.equal(read.columns[0]?.values[0]?.kind.value, 9);
  await assert.rejects(client.writeFeatures({ updates: [update("w-1", T0, 6, { bogus: 1 })] }), /updates\[0\]\.values: view card_txn has no feature "bogus"/);
});

test("Redis down: reads answer UNAVAILABLE, ingest pauses, and everything lands once Redis is back", async (t) => {
  const s = await isolateStack(t);
  const redis = await startPrivateRedis(t);
  const clock = { now: T0 };
  const { client } = await startStore(t, s, clock, redis.url);
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  const topic = `${s.topicPrefix}features`;
  await producer.send(topic, [{ key: "r-1", value: Buffer.from(toBinary(FeatureUpdateSchema, update("r-1", T0, 1, { txn_count_10m: 1 }))) }]);
  const read = () => client.getOnlineFeatures({ entityIds: ["r-1"], features: ["card_txn:txn_count_10m"] });
  await eventually(read, (r) => !(r instanceof Error) && r.columns[0]?.values[0]?.kind.value === 1, 20_000);

  await redis.kill();
  await assert.rejects(read(), (err: unknown) => err instanceof GrpcError && err.code === GrpcStatus.UNAVAILABLE);
  // Published while Redis is down: must not be lost.
  await producer.send(topic, [{ key: "r-1", value: Buffer.from(toBinary(FeatureUpdateSchema, update("r-1", T0 + 1000, 2, { txn_count_10m: 2 }))) }]);
  await new Promise((r) => setTimeout(r, 1500));
  await redis.start(); // an empty Redis: only the update sent during the outage can make this 2
  const after = await eventually(read, (r) => !(r instanceof Error) && r.columns[0]?.values[0]?.kind.value === 2, 30_000);
  assert.equal(after.columns[0]?.statuses[0], FeatureStatus.PRESENT);
});

test("an undecodable record goes to the DLQ and does not block the partition", async (t) => {
  const s = await isolateStack(t);
  const { client } = await startStore(t, s, { now: T0 });
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  const topic = `${s.topicPrefix}features`;
  await producer.send(topic, [
    { key: "p-1", value: Buffer.from([0xff, 0xff, 0xff]), partition: 0 },
    { key: "p-1", value: Buffer.from(toBinary(FeatureUpdateSchema, update("p-1", T0, 1, { txn_count_10m: 4 }))), partition: 0 },
  ]);
  await eventually(
    () => client.getOnlineFeatures({ entityIds: ["p-1"], features: ["card_txn:txn_count_10m"] }),
    (r) => !(r instanceof Error) && r.columns[0]?.values[0]?.kind.value === 4,
    20_000,
  );
  const letters: string[] = [];
  const reader = s.kafka.createConsumer({ groupId: `${s.topicPrefix}dlq`, topics: [`${topic}.dlq`], handler: async (b) => void letters.push(...b.records.map((r) => r.headers["loopline-dlq-reason"]?.toString() ?? "")) });
  t.after(() => reader.close());
  await reader.start();
  await eventually(async () => letters.length, (n) => n >= 1, 20_000);
  assert.deepEqual(letters, ["UNDECODABLE"]);
});
