// Needs the local stack (Kafka on 127.0.0.1:9092): prediction records reach the real topic.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { createKafka, looplineTopicSpecs, silentLogger, topicName } from "@loopline/kit";
import { PredictionRecordSchema, Route, type PredictionRecord } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { InputEncoding, Stage } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { cleanupInReverse, isolateStack, startPrivateKafka } from "@loopline/testkit";
import { loadInferenceConfig } from "./config.js";
import { createFolderSource } from "./folder-source.js";
import { createInferenceService } from "./service.js";
import { createClient } from "@loopline/proto";
import { Inference } from "@loopline/proto/gen/loopline/v1/inference_pb.js";
import { createFakeFeatureStore, createModelFolder } from "./testing/harness.js";
import { linearSigmoidModel } from "./testing/onnx-models.js";

const signature = { inputTensor: "x", inputs: [{ featureRef: "v:a", encoding: InputEncoding.NUMBER }], scoreOutput: "logit", scoreIndex: 0, threshold: 0 };

/** An inference service on the models in `folder`, logging to `brokers` under `prefix`; feature v:a of entity i is i. */
async function startInference(folder: { root: string }, entities: readonly string[], brokers: string[], prefix: string, clientId: string) {
  const config = loadInferenceConfig({
    LOOPLINE_KAFKA_BROKERS: brokers.join(","),
    LOOPLINE_TOPIC_PREFIX: prefix,
    LOOPLINE_INFERENCE_HOST: "127.0.0.1",
    LOOPLINE_INFERENCE_PORT: "0",
    LOOPLINE_INFERENCE_ADMIN_PORT: "0",
    LOOPLINE_INFERENCE_LOG_FLUSH_INTERVAL: "20ms",
  });
  const store = createFakeFeatureStore(Object.fromEntries(entities.map((e, i) => [e, { "v:a": i }])));
  const service = createInferenceService(config, {
    logger: silentLogger,
    modelSource: createFolderSource({ root: folder.root, pollIntervalMs: 0, logger: silentLogger }),
    getOnlineFeatures: store.call,
    kafka: createKafka({ brokers, clientId, logger: silentLogger, clientLogLevel: "error" }),
  });
  await service.start();
  await service.modelsReady();
  return service;
}

test("every prediction reaches loopline.predictions as a protobuf record keyed by entity, with its route", { timeout: 120_000 }, async (t) => {
  const stack = await isolateStack(t);
  const predictions = topicName(stack.topicPrefix, "predictions");
  await stack.kafka.ensureTopics(looplineTopicSpecs(stack.topicPrefix, 1).filter((s) => s.topic === predictions));

  const folder = await createModelFolder();
  t.after(() => folder.cleanup());
  await folder.write("m", "1", linearSigmoidModel({ weights: [1], bias: 0 }), { stage: Stage.PRODUCTION, signature });
  await folder.write("m", "2", linearSigmoidModel({ weights: [1], bias: 10 }), { stage: Stage.CANARY, signature, serving: { canaryPercent: 50 } });
  await folder.write("m", "3", linearSigmoidModel({ weights: [1], bias: 100 }), { stage: Stage.SHADOW, signature });

  const entities = Array.from({ length: 20 }, (_, i) => `ent-${i}`);
  const service = await startInference(folder, entities, stack.endpoints.kafkaBrokers, stack.topicPrefix, `inference-${stack.id}`);
  const client = createClient(Inference, `127.0.0.1:${service.port}`, { timeoutMs: 10_000 });
  const answers = await Promise.all(entities.map((entityId) => client.predict({ model: "m", entityId, requestId: `req-${entityId}` })));
  client.close();
  await service.close(); // flushes the log, including shadow records

  // Read the topic back with a consumer of our own.
  const got: PredictionRecord[] = [];
  const keys = new Map<string, string>();
  const consumer = stack.kafka.createConsumer({
    groupId: `${stack.id}-reader`,
    topics: [predictions],
    handler: (batch) => {
      for (const r of batch.records) {
        const record = fromBinary(PredictionRecordSchema, r.value ?? new Uint8Array());
        got.push(record);
        keys.set(`${record.requestId}/${record.route}`, r.key?.toString() ?? "");
      }
      return Promise.resolve();
    },
  });
  await consumer.start();
  t.after(() => consumer.close());
  for (let i = 0; i < 300 && got.length < 40; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(got.length, 40, "20 answers + 20 shadow mirrors");
  for (const [i, entityId] of entities.entries()) {
    const answer = answers[i];
    const mine = got.filter((r) => r.requestId === `req-${entityId}`);
    const answered = mine.find((r) => r.route !== Route.SHADOW);
    const shadow = mine.find((r) => r.route === Route.SHADOW);
    assert.equal(answered?.route, answer?.route);
    assert.equal(answered?.modelVersion, answer?.modelVersion);
    assert.equal(answered?.score, answer?.score);
    assert.equal(answered?.entityId, entityId);
    assert.equal(keys.get(`req-${entityId}/${answered?.route}`), entityId);
    assert.equal(shadow?.modelVersion, "3");
    assert.equal(shadow?.score, i + 100); // logit = a + 100 with a = i
    assert.deepEqual(answered?.featureRefs, ["v:a"]);
  }
  const routes = new Set(got.map((r) => r.route));
  assert.deepEqual([...routes].sort(), [Route.PRODUCTION, Route.CANARY, Route.SHADOW].sort());
});

test("Kafka killed while answering: every answer still comes, and every record reaches the topic once the broker is back", { timeout: 180_000 }, async (t) => {
  // A broker of the test's own, closed last, after its clients.
  const later = cleanupInReverse(t);
  const broker = await startPrivateKafka();
  later(broker.close);
  const kafka = createKafka({ brokers: broker.brokers, clientId: "inference-outage", logger: silentLogger, clientLogLevel: "error" });
  later(() => kafka.close());
  const prefix = "outage.";
  const predictions = topicName(prefix, "predictions");
  // Made up front, as a deployment's topics are: the reader below subscribes to it.
  await kafka.ensureTopics(looplineTopicSpecs(prefix, 1).filter((s) => s.topic === predictions));

  const folder = await createModelFolder();
  later(() => folder.cleanup());
  await folder.write("m", "1", linearSigmoidModel({ weights: [1], bias: 0 }), { stage: Stage.PRODUCTION, signature });
  const entities = Array.from({ length: 30 }, (_, i) => `ent-${i}`);
  const service = await startInference(folder, entities, broker.brokers, prefix, "inference");
  later(() => service.close());
  const client = createClient(Inference, `127.0.0.1:${service.port}`, { timeoutMs: 10_000 });
  later(async () => client.close());
  const ask = (from: number, to: number) => Promise.all(entities.slice(from, to).map((entityId) => client.predict({ model: "m", entityId, requestId: `req-${entityId}` })));

  await ask(0, 10);
  await broker.kill();
  const during = await ask(10, 20);
  assert.equal(during.length, 10, "answers do not wait for Kafka");
  await broker.start();
  await ask(20, 30);

  const got = new Set<string>();
  const reader = kafka.createConsumer({
    groupId: "outage-reader",
    topics: [predictions],
    handler: async (batch) => {
      for (const r of batch.records) got.add(fromBinary(PredictionRecordSchema, r.value ?? new Uint8Array()).requestId);
    },
  });
  later(() => reader.close());
  await reader.start();
  for (let i = 0; i < 600 && got.size < entities.length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual([...got].sort(), entities.map((e) => `req-${e}`).sort(), "every prediction logged, those made while Kafka was down included");
});
