// Integration: a real inference service (in-process, ONNX Runtime, prediction log on the real Kafka)
// answers `loopline predict`; the feature store is a function answering from a table.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { create, toJson } from "@bufbuild/protobuf";
import { createKafka, looplineTopicSpecs, silentLogger } from "@loopline/kit";
import { createFolderSource, createInferenceService, FOLDER_FILES, loadInferenceConfig } from "@loopline/inference";
import { GetOnlineFeaturesResponseSchema } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { InputEncoding, ModelVersionSchema, Stage } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { FeatureStatus, FeatureValueSchema } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { freePort, isolateStack } from "@loopline/testkit";
import { exportLogisticRegressionOnnx } from "@loopline/trainer";
import { predictCommand } from "./predict-command.js";
import { capture } from "./capture.test-helper.js";

// P(fraud) = sigmoid(0.5 · amount − 0.25 · hour + 0.1), amount from the store, hour from the caller.
const amounts: Record<string, number> = { "card-1": 4, "card-2": -2 };
const expected = (amount: number, hour: number) => 1 / (1 + Math.exp(-(0.5 * amount - 0.25 * hour + 0.1)));

test("loopline predict asks inference for one entity or several and prints score, version, route and feature statuses", { timeout: 120_000 }, async (t) => {
  const stack = await isolateStack(t);
  await stack.kafka.ensureTopics(looplineTopicSpecs(stack.topicPrefix, 1));
  const root = await mkdtemp(join(tmpdir(), "loopline-cli-predict-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, "fraud", "1");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, FOLDER_FILES.artifact), exportLogisticRegressionOnnx({ weights: [0.5, -0.25], intercept: 0.1 }));
  const version = create(ModelVersionSchema, {
    model: "fraud",
    version: "1",
    stage: Stage.PRODUCTION,
    signature: {
      inputTensor: "features",
      inputs: [
        { featureRef: "card_txn:amount_mean_7d", encoding: InputEncoding.NUMBER },
        { featureRef: "hour", encoding: InputEncoding.NUMBER, requestTime: true },
      ],
      outputs: [{ name: "probability", meaning: "[P(0), P(1)]" }],
      scoreOutput: "probability",
      scoreIndex: 1,
      threshold: 0.5,
    },
  });
  await writeFile(join(dir, FOLDER_FILES.version), JSON.stringify(toJson(ModelVersionSchema, version)));

  const config = loadInferenceConfig({
    LOOPLINE_KAFKA_BROKERS: stack.endpoints.kafkaBrokers.join(","),
    LOOPLINE_TOPIC_PREFIX: stack.topicPrefix,
    LOOPLINE_INFERENCE_HOST: "127.0.0.1",
    LOOPLINE_INFERENCE_PORT: "0",
    LOOPLINE_INFERENCE_ADMIN_PORT: "0",
  });
  const service = createInferenceService(config, {
    logger: silentLogger,
    modelSource: createFolderSource({ root, pollIntervalMs: 0, logger: silentLogger }),
    getOnlineFeatures: async ({ entityIds, features }) =>
      create(GetOnlineFeaturesResponseSchema, {
        entityIds,
        columns: features.map((ref) => ({
          ref,
          values: entityIds.map((id) => create(FeatureValueSchema, amounts[id] === undefined ? {} : { kind: { case: "number", value: amounts[id] } })),
          statuses: entityIds.map((id) => (amounts[id] === undefined ? FeatureStatus.NOT_FOUND : FeatureStatus.PRESENT)),
          eventTimeMs: entityIds.map(() => 0n),
        })),
      }),
    kafka: createKafka({ brokers: stack.endpoints.kafkaBrokers, clientId: `cli-predict-${stack.id}`, logger: silentLogger, clientLogLevel: "error" }),
  });
  await service.start();
  t.after(() => service.close());
  await service.modelsReady();
  const env = { LOOPLINE_INFERENCE_ADDRESS: `127.0.0.1:${service.port}` };
  const run = async (args: string[], environment: Record<string, string> = env) => {
    const io = capture(environment);
    const code = await predictCommand.run(args, io);
    return { code, out: io.stdout(), err: io.stderr() };
  };

  const one = await run(["fraud", "card-1", "--features", "hour=3", "--request-id", "r-1"]);
  assert.equal(one.err, "");
  assert.equal(one.code, 0);
  const first = one.out.split("\n")[0] ?? "";
  const shown = Number(/score (\S+),/.exec(first)?.[1]);
  assert.ok(Math.abs(shown - expected(4, 3)) < 1e-5, `${first} (expected ${expected(4, 3)})`);
  assert.match(first, /^fraud version 1 \(production\) for card-1: score \S+, decision true$/);
  assert.match(one.out, /request id r-1/);
  assert.match(one.out, /card_txn:amount_mean_7d\s+PRESENT/);

  const json = await run(["fraud", "card-1", "--features", "hour=3", "--json"]);
  const answer = JSON.parse(json.out) as { modelVersion: string; route: string; score: number; featureStatuses: string[] };
  assert.equal(answer.modelVersion, "1");
  assert.equal(answer.route, "ROUTE_PRODUCTION");
  assert.ok(Math.abs(answer.score - expected(4, 3)) < 1e-6);
  assert.deepEqual(answer.featureStatuses, ["FEATURE_STATUS_PRESENT", "FEATURE_STATUS_PRESENT"], "the stored feature and the request-time one");

  const batch = await run(["fraud", "card-1", "card-2", "card-9", "--features", "hour=1"]);
  assert.equal(batch.code, 0, batch.err);
  const rows = batch.out.split("\n").filter((line) => line.startsWith("card-"));
  assert.equal(rows.length, 3);
  const cells = rows.map((row) => row.split(/\s{2,}/));
  assert.deepEqual(cells.map((c) => [c[0], c[1], c[2], c[4], c[5]]), [
    ["card-1", "1", "production", "true", "-"],
    ["card-2", "1", "production", "false", "-"],
    ["card-9", "1", "production", String(expected(0, 1) >= 0.5), "card_txn:amount_mean_7d"],
  ]);
  assert.ok(Math.abs(Number(cells[1]?.[3]) - expected(-2, 1)) < 1e-5);

  const unknown = await run(["nope", "card-1", "--features", "hour=1"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /^loopline predict: NOT_FOUND: .*nope/);

  const usage = await run(["fraud"]);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /^loopline predict: at least one ENTITY_ID is required\nusage: loopline predict MODEL ENTITY_ID/);
  assert.equal((await run(["fraud", "card-1", "--verbose"])).code, 2);

  const port = await freePort();
  const down = await run(["fraud", "card-1"], { LOOPLINE_INFERENCE_ADDRESS: `127.0.0.1:${port}` });
  assert.equal(down.code, 1);
  assert.match(down.err, new RegExp(`^loopline predict: UNAVAILABLE: .*\\(inference at 127\\.0\\.0\\.1:${port}, LOOPLINE_INFERENCE_ADDRESS\\)\\n$`));
});
