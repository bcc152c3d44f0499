import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import type { ConsumedRecord } from "@loopline/kit";
import { exportLogisticRegressionOnnx } from "@loopline/trainer";
import { PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import {
  InputEncoding,
  MissingPolicy,
  ModelSignatureSchema,
  RegisterVersionRequestSchema,
  Stage,
  VersionStatus,
  type ModelRegistry,
} from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { createClient, type Client } from "@loopline/proto";
import { GRPCInferenceService } from "@loopline/proto/gen/inference/grpc_service_pb.js";
import { eventually, isolateStack } from "@loopline/testkit";
import { startLoop } from "./stack.js";

// The serving path end to end, every piece real: events on Kafka → feature-ingest → Kafka →
// feature-store (Redis) → inference, which follows the real registry's change feed.

const REFS = ["card_txn:txn_count_1h", "card_txn:amount_sum_1h", "card_txn:ecom_count_1h"];

const signature = create(ModelSignatureSchema, {
  inputTensor: "features",
  inputs: REFS.map((featureRef) => ({ featureRef, encoding: InputEncoding.NUMBER, defaultValue: 0 })),
  outputs: [{ name: "probability", meaning: "[P(legit), P(fraud)]" }],
  scoreOutput: "probability",
  scoreIndex: 1,
  threshold: 0.5,
  missingPolicy: MissingPolicy.DEFAULT,
  scoreMin: 0,
  scoreMax: 1,
});

async function register(registry: Client<typeof ModelRegistry>, weights: number[], intercept: number): Promise<string> {
  const onnx = exportLogisticRegressionOnnx({ weights, intercept });
  async function* parts() {
    yield create(RegisterVersionRequestSchema, { part: { case: "header", value: { model: "fraud", signature, actor: "e2e" } } });
    for (let i = 0; i < onnx.length; i += 64 * 1024) yield create(RegisterVersionRequestSchema, { part: { case: "chunk", value: onnx.subarray(i, i + 64 * 1024) } });
  }
  const res = await registry.registerVersion(parts());
  assert.equal(res.version?.status, VersionStatus.READY, res.version?.statusReason);
  return res.version?.version ?? "";
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

test("events become features, and Predict answers from the promoted version; canary and shadow route as declared", async (t) => {
  const s = await isolateStack(t);
  const loop = await startLoop(t, s);
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());

  // Three transactions for card-42 in the last hour, one of them ecom: by hand the features are
  // txn_count_1h = 3, amount_sum_1h = 10 + 20 + 30 = 60, ecom_count_1h = 1.
  const now = Date.now();
  const txn = (i: number, amount: number, channel: string) => ({
    key: "card-42",
    value: JSON.stringify({ event_id: `e2e-${i}`, entity: "card", entity_id: "card-42", event_time: now - (10 - i) * 60_000, type: "transaction", fields: { amount, merchant_category: "5812", country: "FR", channel } }),
  });
  await producer.send(`${s.topicPrefix}events`, [txn(1, 10, "pos"), txn(2, 20, "ecom"), txn(3, 30, "pos")]);

  const v1 = await register(loop.registry, [0.5, -0.02, 0.3], -0.1);
  await loop.registry.transitionStage({ model: "fraud", version: v1, toStage: Stage.PRODUCTION, expectedStage: Stage.CANDIDATE, actor: "e2e", reason: "first champion" });

  // P(fraud) = sigmoid(0.5·3 − 0.02·60 + 0.3·1 − 0.1) = sigmoid(0.5)
  const expected = sigmoid(0.5 * 3 - 0.02 * 60 + 0.3 * 1 - 0.1);
  const answer = await eventually(
    () => loop.inference.predict({ model: "fraud", entityId: "card-42" }),
    (r) => r.modelVersion === v1 && r.featureStatuses.every((st) => st === FeatureStatus.PRESENT) && Math.abs(r.score - expected) < 1e-6,
    60_000,
  );
  assert.equal(answer.route, Route.PRODUCTION);
  assert.deepEqual(answer.featureRefs, REFS);
  assert.equal(answer.decision, expected >= 0.5);
  assert.ok(answer.requestId !== "");

  // A canary at 30 % of entities: sticky per entity, share within tolerance.
  const v2 = await register(loop.registry, [0.1, 0.1, 0.1], 0);
  await loop.registry.setServingConfig({ model: "fraud", version: v2, serving: { canaryPercent: 30 }, actor: "e2e" });
  await loop.registry.transitionStage({ model: "fraud", version: v2, toStage: Stage.CANARY, expectedStage: Stage.CANDIDATE, actor: "e2e", reason: "canary" });
  const v3 = await register(loop.registry, [-0.1, 0.0, 0.2], 0.05);
  await loop.registry.transitionStage({ model: "fraud", version: v3, toStage: Stage.SHADOW, expectedStage: Stage.CANDIDATE, actor: "e2e", reason: "shadow" });
  // inference loads versions in the background, each on its own: the canary answering says
  // nothing of the shadow. Wait for both as a Triton client would, with the Open Inference
  // Protocol's ModelReady per version.
  const oip = createClient(GRPCInferenceService, loop.inferenceAddress, { timeoutMs: 10_000 });
  t.after(() => oip.close());
  for (const version of [v2, v3]) await eventually(() => oip.modelReady({ name: "fraud", version }), (r) => r.ready, 60_000);
  const entities = Array.from({ length: 400 }, (_, i) => `card-${1000 + i}`);
  const batch = await eventually(
    () => loop.inference.predictBatch({ model: "fraud", entityIds: entities, requestId: "batch-1" }),
    (r) => r.canaryVersion === v2 && r.routes.some((x) => x === Route.CANARY),
    60_000,
  );
  const canaryShare = batch.routes.filter((r) => r === Route.CANARY).length / entities.length;
  assert.ok(Math.abs(canaryShare - 0.3) < 0.08, `canary share ${canaryShare}`);
  assert.ok(batch.routes.every((r) => r === Route.CANARY || r === Route.PRODUCTION), "shadow never answers");
  const again = await loop.inference.predictBatch({ model: "fraud", entityIds: entities, requestId: "batch-2" });
  assert.deepEqual(again.routes, batch.routes, "canary routing is sticky per entity");

  // Every prediction is logged, all routes, and the shadow's copies carry route SHADOW.
  const records: ConsumedRecord[] = [];
  const reader = s.kafka.createConsumer({ groupId: `${s.topicPrefix}e2e-reader`, topics: [`${s.topicPrefix}predictions`], handler: async (b) => void records.push(...b.records) });
  t.after(() => reader.close());
  await reader.start();
  const decoded = await eventually(
    async () => records.map((r) => fromBinary(PredictionRecordSchema, r.value ?? new Uint8Array())),
    (rs) => rs.filter((r) => r.requestId.startsWith("batch-2/")).length >= 2 * entities.length,
    60_000,
  );
  const second = decoded.filter((r) => r.requestId.startsWith("batch-2/"));
  const shadow = second.filter((r) => r.route === Route.SHADOW);
  assert.equal(second.filter((r) => r.route !== Route.SHADOW).length, entities.length, "one answered record per entity");
  assert.equal(shadow.length, entities.length, "the shadow saw a mirrored copy of every request");
  assert.ok(shadow.every((r) => r.modelVersion === v3));
  const first = decoded.find((r) => r.requestId === answer.requestId);
  assert.ok(first, "the single Predict is logged too");
  assert.equal(first.entityId, "card-42");
  assert.deepEqual(first.featureRefs, REFS);
  assert.ok(Math.abs(first.score - expected) < 1e-6);
});

test("promoting a new champion under steady load fails no request, and answers move to the new version", async (t) => {
  const s = await isolateStack(t);
  const loop = await startLoop(t, s);
  const v1 = await register(loop.registry, [0.2, 0.0, 0.1], 0);
  await loop.registry.transitionStage({ model: "fraud", version: v1, toStage: Stage.PRODUCTION, expectedStage: Stage.CANDIDATE, actor: "e2e", reason: "first" });
  await eventually(() => loop.inference.predict({ model: "fraud", entityId: "warm" }), (r) => r.modelVersion === v1, 60_000);

  const seen = new Map<string, number>();
  const failures: unknown[] = [];
  let stop = false;
  const workers = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      try {
        const r = await loop.inference.predict({ model: "fraud", entityId: `card-${w}-${i % 50}` });
        seen.set(r.modelVersion, (seen.get(r.modelVersion) ?? 0) + 1);
      } catch (err) {
        failures.push(err);
      }
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  const v2 = await register(loop.registry, [0.3, 0.01, 0.2], -0.2);
  const promoted = await loop.registry.transitionStage({ model: "fraud", version: v2, toStage: Stage.PRODUCTION, expectedStage: Stage.CANDIDATE, expectedProductionVersion: v1, actor: "e2e", reason: "swap under load" });
  assert.equal(promoted.previousProductionVersion, v1);
  await eventually(async () => seen.get(v2) ?? 0, (n) => n > 50, 30_000);
  stop = true;
  await Promise.all(workers);
  assert.deepEqual(failures, [], "no request failed during the swap");
  assert.ok((seen.get(v1) ?? 0) > 0 && (seen.get(v2) ?? 0) > 50, JSON.stringify([...seen]));
});
