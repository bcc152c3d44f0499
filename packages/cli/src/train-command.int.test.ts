import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { builtinRegistry } from "@loopline/features";
import { silentLogger } from "@loopline/kit";
import { createRegistryService, loadRegistryConfig } from "@loopline/model-registry";
import { createClient } from "@loopline/proto";
import { ModelRegistry, Stage, VersionStatus } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { isolateStack } from "@loopline/testkit";
import { trainCommand } from "./train-command.js";
import { capture } from "./capture.test-helper.js";

// Integration: events and labels on the real Kafka, a model-registry in-process; the CLI trains,
// registers and promotes.

const MIN = 60_000;
const CARDS = 200;

test("loopline train fits a model on events and entity-keyed labels from Kafka, registers it with its profile and promotes it", async (t) => {
  const s = await isolateStack(t);
  const dir = await mkdtemp(join(tmpdir(), "loopline-train-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const brokers = s.endpoints.kafkaBrokers.join(",");
  const registry = createRegistryService(
    loadRegistryConfig({ LOOPLINE_KAFKA_BROKERS: brokers, LOOPLINE_TOPIC_PREFIX: s.topicPrefix, LOOPLINE_REGISTRY_GRPC_PORT: "0", LOOPLINE_REGISTRY_ARTIFACT_DIR: join(dir, "artifacts") }),
    { logger: silentLogger },
  );
  await registry.start();
  t.after(() => registry.close(1000));
  const env = { LOOPLINE_KAFKA_BROKERS: brokers, LOOPLINE_TOPIC_PREFIX: s.topicPrefix, LOOPLINE_REGISTRY_ADDRESS: `127.0.0.1:${registry.grpcPort}`, LOOPLINE_ACTOR: "ana" };
  const train = async (args: string[]) => {
    const io = capture(env);
    const code = await trainCommand.run(args, io);
    return { code, out: io.stdout(), err: io.stderr() };
  };

  // Each card pays a small amount 20 minutes ago, then the labelled payment 10 minutes ago,
  // fraudulent exactly when it is large (every fourth card), then 5,000 five minutes ago, after its
  // label's time (that it stays out of the label's features is replay-set.test.ts's to check).
  const now = Date.now();
  const events: { key: string; value: string }[] = [];
  const labels: { key: string; value: string }[] = [];
  for (let i = 0; i < CARDS; i++) {
    const card = `card-${i}`;
    const fraud = i % 4 === 0;
    const pay = (n: number, t: number, amount: number) =>
      events.push({ key: card, value: JSON.stringify({ event_id: `${card}-${n}`, entity: "card", entity_id: card, event_time: t, type: "transaction", fields: { amount, merchant_category: "5812", country: "FR", channel: "ecom" } }) });
    pay(1, now - 20 * MIN, 10 + (i % 7));
    pay(2, now - 10 * MIN, fraud ? 900 + i : 20 + (i % 30));
    pay(3, now - 5 * MIN, 5_000);
    labels.push({ key: card, value: JSON.stringify({ entity_id: card, event_time: now - 10 * MIN, label: fraud ? 1 : 0 }) });
  }
  // Not held: an entity without a label (its events are read, decoded and dropped).
  for (let n = 1; n <= 4; n++) {
    events.push({ key: "card-unlabelled", value: JSON.stringify({ event_id: `u-${n}`, entity: "card", entity_id: "card-unlabelled", event_time: now - n * MIN, type: "transaction", fields: { amount: 1, merchant_category: "5812", country: "FR", channel: "ecom" } }) });
  }
  // Set aside: a request-keyed label, one that is not a label, and a redelivery of card-1's.
  labels.push({ key: "req-1", value: JSON.stringify({ request_id: "req-1", label: 1 }) });
  labels.push({ key: "x", value: "{not json" });
  labels.push({ key: "card-1", value: JSON.stringify({ entity_id: "card-1", event_time: now - 10 * MIN, label: 0 }) });
  await s.kafka.ensureTopics([
    { topic: `${s.topicPrefix}events`, partitions: 3 },
    { topic: `${s.topicPrefix}labels`, partitions: 2 },
  ]);
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  await producer.send(`${s.topicPrefix}events`, events);
  await producer.send(`${s.topicPrefix}labels`, labels);

  await t.test("usage mistakes name the flag and exit 2", async () => {
    const stringFeature = await train(["fraud", "card_txn", "--features", "last_country"]);
    assert.equal(stringFeature.code, 2);
    assert.match(stringFeature.err, /^loopline train: --features: card_txn:last_country is a string; the built-in signature takes numbers/);
    const view = await train(["fraud", "cards"]);
    assert.equal(view.code, 2);
    assert.match(view.err, /unknown view "cards" \(known views: .*card_txn/);
  });

  await t.test("an unreachable registry is said before anything is read or trained", async () => {
    const io = capture({ ...env, LOOPLINE_REGISTRY_ADDRESS: "127.0.0.1:1" });
    assert.equal(await trainCommand.run(["fraud", "card_txn"], io), 1);
    assert.match(io.stderr(), /^loopline train: UNAVAILABLE: .*ECONNREFUSED.* \(registry at 127\.0\.0\.1:1, LOOPLINE_REGISTRY_ADDRESS\)\n$/);
  });

  await t.test("too few labels is one line, exit 1, and registers nothing", async () => {
    const r = await train(["fraud", "card_txn", "--min-labels", "1000"]);
    assert.equal(r.code, 1, r.err);
    assert.equal(r.err.split("\n").filter((l) => !l.includes("read ")).join("\n"), `loopline train: ${CARDS} entity-keyed labels on the labels topic (1 request-keyed set aside); at least 1000 are needed (--min-labels)\n`);
    const client = createClient(ModelRegistry, `127.0.0.1:${registry.grpcPort}`);
    t.after(() => client.close());
    assert.equal((await client.listModels({})).models.length, 0);
  });

  await t.test("trained, registered with signature, metrics and profile, and promoted", async () => {
    const r = await train(["fraud", "card_txn", "--promote", "--json"]);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as { labels: { used: number; positives: number; requestKeyed: number; replaced: number; invalid: Record<string, number> }; eventsUsed: number; holdout: { auc: number; rows: number }; version: string; promoted: boolean; stage: string; features: string[] };
    assert.deepEqual(report.labels, { used: CARDS, positives: CARDS / 4, requestKeyed: 1, replaced: 1, invalid: { MALFORMED_JSON: 1 } });
    assert.equal(report.eventsUsed, CARDS * 3, "the labelled cards' events, not card-unlabelled's");
    const numeric = builtinRegistry.views.find((v) => v.name === "card_txn")?.features.filter((f) => f.valueType === "number").map((f) => `card_txn:${f.name}`);
    assert.deepEqual(report.features, numeric);
    // The labels are a step function of the labelled payment's amount: the classes separate.
    assert.ok(report.holdout.auc > 0.95, `holdout AUC ${report.holdout.auc}`);
    assert.equal(report.promoted, true);
    assert.equal(report.stage, "production");

    const client = createClient(ModelRegistry, `127.0.0.1:${registry.grpcPort}`);
    t.after(() => client.close());
    const model = (await client.getModel({ name: "fraud" })).model;
    assert.equal(model?.productionVersion, report.version);
    const version = (await client.getVersion({ model: "fraud", version: report.version })).version;
    assert.equal(version?.status, VersionStatus.READY);
    assert.equal(version?.stage, Stage.PRODUCTION);
    assert.deepEqual(version?.signature?.inputs.map((i) => i.featureRef), numeric);
    assert.equal(version?.lineage?.trainingRows, BigInt(CARDS));
    assert.ok((version?.referenceProfile.length ?? 0) > 0, "a reference profile for drift-monitor");
    assert.ok(version?.metrics["auc"] !== undefined);
    const history = await client.getHistory({ model: "fraud" });
    assert.ok(history.events.every((e) => e.actor === "ana"), "recorded as LOOPLINE_ACTOR");
  });
});
