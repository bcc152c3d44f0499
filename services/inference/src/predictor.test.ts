import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { GrpcError, GrpcStatus } from "@loopline/proto";
import { Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { InputEncoding, MissingPolicy, Stage, type ModelVersionSchema } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createFakeFeatureStore, createModelFolder, refresh, startHarness, value, type FakeFeatureStore, type Harness, type ModelFolder } from "./testing/harness.js";
import { linearSigmoidModel, sigmoid } from "./testing/onnx-models.js";
import { inCanaryShare } from "./routing.js";

// Columns: amount | country=fr | country=us | is_new (request-time). z = 0.02·amount + 1.5·fr − 0.5·us + 1·is_new − 1.
const WEIGHTS = [0.02, 1.5, -0.5, 1];
const BIAS = -1;
const signature = (policy = MissingPolicy.DEFAULT) => ({
  inputTensor: "x",
  inputs: [
    { featureRef: "txn:amount", encoding: InputEncoding.NUMBER, defaultValue: 0 },
    { featureRef: "card:country", encoding: InputEncoding.ONE_HOT, categories: ["fr", "us"] },
    { featureRef: "is_new", encoding: InputEncoding.NUMBER, requestTime: true, defaultValue: 0 },
  ],
  scoreOutput: "probability",
  scoreIndex: 1,
  threshold: 0.5,
  missingPolicy: policy,
});
const version = (stage: Stage, extra: { serving?: { canaryPercent: number } } = {}): MessageInitShape<typeof ModelVersionSchema> => ({ stage, signature: signature(), ...extra });

let folder: ModelFolder;
let store: FakeFeatureStore;
let h: Harness;

before(async () => {
  folder = await createModelFolder();
  const model = linearSigmoidModel({ weights: WEIGHTS, bias: BIAS });
  await folder.write("fraud", "1", model, version(Stage.PRODUCTION));
  await folder.write("strict", "1", model, { stage: Stage.PRODUCTION, signature: signature(MissingPolicy.FAIL) });
  store = createFakeFeatureStore({
    e1: { "txn:amount": 100, "card:country": "fr" },
    e2: { "txn:amount": 10, "card:country": "us" },
    e3: { "card:country": "fr" },
  });
  h = await startHarness({ folder, features: store });
});
after(async () => {
  await h.close();
  await folder.cleanup();
});

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-6, `${actual} vs ${expected}`);
const fails = (code: number, pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof GrpcError, String(err));
  assert.equal(err.codeName, GrpcStatus[code], err.message);
  assert.match(err.message, pattern);
  return true;
};

test("Predict: score, decision and statuses from the entity's features, worked by hand", async () => {
  // e1: 0.02·100 + 1.5 − 1 = 2.5; with is_new = true: 3.5.
  const r = await h.inference.predict({ model: "fraud", entityId: "e1", requestId: "r-1", requestFeatures: { is_new: value(true) } });
  close(r.score, sigmoid(3.5));
  assert.equal(r.decision, true);
  assert.equal(r.requestId, "r-1");
  assert.equal(r.modelVersion, "1");
  assert.equal(r.route, Route.PRODUCTION);
  assert.equal(r.degraded, false);
  assert.deepEqual(r.featureRefs, ["txn:amount", "card:country", "is_new"]);
  assert.deepEqual(r.featureStatuses, [FeatureStatus.PRESENT, FeatureStatus.PRESENT, FeatureStatus.PRESENT]);
  const logit = r.outputs.find((o) => o.name === "logit");
  close(logit?.values[0] ?? Number.NaN, 3.5);
  // e2: 0.2 − 0.5 − 1 = −1.3, no request feature (default 0).
  const r2 = await h.inference.predict({ model: "fraud", entityId: "e2" });
  close(r2.score, sigmoid(-1.3));
  assert.equal(r2.decision, false);
  assert.match(r2.requestId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(r2.featureStatuses, [FeatureStatus.PRESENT, FeatureStatus.PRESENT, FeatureStatus.NOT_FOUND]);
});

test("missing features take the signature default, or fail naming the feature", async () => {
  // e3 has no amount: default 0 → 1.5 − 1 = 0.5.
  const r = await h.inference.predict({ model: "fraud", entityId: "e3" });
  close(r.score, sigmoid(0.5));
  assert.equal(r.featureStatuses[0], FeatureStatus.NOT_FOUND);
  await assert.rejects(h.inference.predict({ model: "strict", entityId: "e3", requestFeatures: { is_new: value(0) } }), fails(GrpcStatus.FAILED_PRECONDITION, /entity e3: feature txn:amount is missing/));
});

test("PredictBatch answers columnar in request order, one feature call for the batch", async () => {
  const before = store.requests.length;
  const r = await h.inference.predictBatch({ model: "fraud", entityIds: ["e2", "e1", "unknown"], requestId: "b-1" });
  assert.equal(store.requests.length - before, 1);
  assert.equal(r.productionVersion, "1");
  assert.deepEqual(r.routes, [Route.PRODUCTION, Route.PRODUCTION, Route.PRODUCTION]);
  [sigmoid(-1.3), sigmoid(2.5), sigmoid(-1)].forEach((s, i) => close(r.scores[i] as number, s));
  assert.deepEqual(r.decisions, [false, true, false]);
  assert.equal(r.featureStatuses.length, 9);
  assert.deepEqual(r.featureStatuses.slice(6), [FeatureStatus.NOT_FOUND, FeatureStatus.NOT_FOUND, FeatureStatus.NOT_FOUND]);
  await h.sink.waitFor(1);
  const ids = () => h.sink.records.map((rec) => rec.requestId);
  for (let i = 0; i < 50 && !ids().includes("b-1/2"); i++) await new Promise((res) => setTimeout(res, 10));
  assert.ok(ids().includes("b-1/0") && ids().includes("b-1/2"));
});

test("concurrent Predicts share one GetOnlineFeatures call", async () => {
  const before = store.requests.length;
  const answers = await Promise.all(["e1", "e2", "e3", "e1"].map((entityId) => h.inference.predict({ model: "fraud", entityId })));
  assert.equal(answers.length, 4);
  const calls = store.requests.slice(before);
  assert.ok(calls.length < 4, `${calls.length} calls for 4 requests`);
  assert.equal(new Set(calls.flatMap((c) => c.entityIds)).size, 3);
});

test("bad requests: unknown model, empty entity, oversize or empty batch, non-finite values", async () => {
  await assert.rejects(h.inference.predict({ model: "nope", entityId: "e1" }), fails(GrpcStatus.NOT_FOUND, /model nope/));
  await assert.rejects(h.inference.predict({ model: "fraud", entityId: "e1", version: "5" }), fails(GrpcStatus.NOT_FOUND, /version 5/));
  await assert.rejects(h.inference.predict({ model: "fraud", entityId: "" }), fails(GrpcStatus.INVALID_ARGUMENT, /entity_id/));
  await assert.rejects(h.inference.predictBatch({ model: "fraud", entityIds: [] }), fails(GrpcStatus.INVALID_ARGUMENT, /at least one/));
  await assert.rejects(h.inference.predictBatch({ model: "fraud", entityIds: new Array(5000).fill("e1") }), fails(GrpcStatus.INVALID_ARGUMENT, /5000 entities given, at most 4096/));
  await assert.rejects(h.inference.predict({ model: "fraud", entityId: "e1", requestFeatures: { is_new: value(Number.NaN) } }), fails(GrpcStatus.INVALID_ARGUMENT, /is_new is NaN/));
});

test("feature store down: UNAVAILABLE, or defaults flagged degraded when configured", async () => {
  store.down = true;
  try {
    await assert.rejects(h.inference.predict({ model: "fraud", entityId: "e1" }), fails(GrpcStatus.UNAVAILABLE, /feature store unavailable/));
    const degraded = await startHarness({ folder, features: store, env: { LOOPLINE_INFERENCE_DEGRADED_DEFAULTS: "true" } });
    try {
      // Defaults: amount 0, country all zeros, is_new 1 (given) → z = 1 − 1 = 0.
      const r = await degraded.inference.predict({ model: "fraud", entityId: "e1", requestFeatures: { is_new: value(1) } });
      assert.equal(r.degraded, true);
      close(r.score, 0.5);
      await assert.rejects(degraded.inference.predict({ model: "strict", entityId: "e1" }), fails(GrpcStatus.UNAVAILABLE, /feature store/));
      await degraded.sink.waitFor(1);
      assert.equal(degraded.sink.records[0]?.degraded, true);
    } finally {
      await degraded.close();
    }
  } finally {
    store.down = false;
  }
});

test("a request whose deadline passes while waiting for features never reaches the model", async () => {
  const runs = async () => Number(/loopline_inference_exec_count_total\{[^}]*model="fraud",version="1"[^}]*\} (\d+)/.exec(await h.service.metrics.registry.metrics())?.[1] ?? 0);
  const before = await runs();
  store.delayMs = 300;
  try {
    await assert.rejects(h.inference.predict({ model: "fraud", entityId: "e1" }, { timeoutMs: 100 }), fails(GrpcStatus.DEADLINE_EXCEEDED, /deadline/i));
    await new Promise((r) => setTimeout(r, 400)); // the late feature answer arrives: nothing may run
  } finally {
    store.delayMs = 0;
  }
  assert.equal(await runs(), before);
  assert.match(await h.service.metrics.registry.metrics(), /loopline_inference_request_failure_total\{[^}]*rpc="Predict",reason="DEADLINE_EXCEEDED"[^}]*\} 1/);
});

test("canary answers its sticky share; shadow is never returned and its failures are invisible", async () => {
  const canaryModel = linearSigmoidModel({ weights: [0, 0, 0, 0], bias: 0 }); // always 0.5
  await folder.write("fraud", "2", canaryModel, version(Stage.CANARY, { serving: { canaryPercent: 30 } }));
  // The shadow's signature needs a feature the store does not know: every shadow call fails.
  await folder.write("fraud", "3", canaryModel, { stage: Stage.SHADOW, signature: { ...signature(MissingPolicy.FAIL), inputs: [...signature().inputs.slice(0, 2), { featureRef: "ghost:x" }] } });
  await refresh(h);
  const slots = h.service.repository.slots("fraud");
  assert.equal(slots?.canary?.version, "2");
  assert.equal(slots?.shadow?.version, "3");
  for (let i = 0; i < 30; i++) store.table.set(`c${i}`, { "txn:amount": 100, "card:country": "fr" });
  const ids = Array.from({ length: 30 }, (_, i) => `c${i}`);
  const answers = await Promise.all(ids.map((entityId) => h.inference.predict({ model: "fraud", entityId })));
  answers.forEach((a, i) => {
    const canary = inCanaryShare("fraud", ids[i] as string, 30);
    assert.equal(a.route, canary ? Route.CANARY : Route.PRODUCTION, ids[i]);
    assert.equal(a.modelVersion, canary ? "2" : "1");
    close(a.score, canary ? 0.5 : sigmoid(2.5));
  });
  // Sticky: asking again gives the same side.
  const again = await h.inference.predictBatch({ model: "fraud", entityIds: ids });
  assert.deepEqual(again.routes, answers.map((a) => a.route));
  assert.equal(again.canaryVersion, "2");
  // Shadow failed every time, yet no answer failed; its failures are counted.
  await h.service.repository.idle();
  for (let i = 0; i < 100; i++) {
    const text = await h.service.metrics.registry.metrics();
    if (/loopline_inference_shadow_total\{[^}]*model="fraud",outcome="failed"[^}]*\} 60/.test(text)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.match(await h.service.metrics.registry.metrics(), /loopline_inference_shadow_total\{[^}]*outcome="failed"[^}]*\} 60/);
  assert.ok(h.sink.records.every((rec) => rec.modelVersion !== "3"));
});

test("a working shadow logs route SHADOW records sharing the request id, never answering", async () => {
  await folder.write("fraud", "3", linearSigmoidModel({ weights: [0, 0, 0, 0], bias: 5 }), version(Stage.SHADOW));
  await refresh(h);
  const r = await h.inference.predict({ model: "fraud", entityId: "e1", requestId: "mirror-me", version: "1" });
  assert.equal(r.modelVersion, "1");
  close(r.score, sigmoid(2.5));
  await assert.rejects(h.inference.predict({ model: "fraud", entityId: "e1", version: "3" }), fails(GrpcStatus.FAILED_PRECONDITION, /shadow answers are never returned/));
  for (let i = 0; i < 100 && h.sink.records.filter((rec) => rec.requestId === "mirror-me").length < 2; i++) await new Promise((res) => setTimeout(res, 10));
  const mine = h.sink.records.filter((rec) => rec.requestId === "mirror-me");
  assert.deepEqual(mine.map((rec) => [rec.route, rec.modelVersion]).sort(), [[Route.PRODUCTION, "1"], [Route.SHADOW, "3"]]);
  const shadow = mine.find((rec) => rec.route === Route.SHADOW);
  close(shadow?.score ?? 0, sigmoid(5));
  assert.equal(shadow?.entityId, "e1");
  assert.deepEqual(shadow?.featureRefs, ["txn:amount", "card:country", "is_new"]);
  await folder.remove("fraud", "2");
  await folder.remove("fraud", "3");
  await refresh(h);
  assert.equal(h.service.repository.slots("fraud")?.canary, undefined);
});
