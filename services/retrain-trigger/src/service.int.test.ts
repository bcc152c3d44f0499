import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createLogger, createMetrics, insertRows, silentLogger, topicName } from "@loopline/kit";
import { createRegistryService, loadRegistryConfig } from "@loopline/model-registry";
import { createClient } from "@loopline/proto";
import { DriftReportSchema, RetrainDecisionSchema, type RetrainDecision } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import { Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { ModelRegistry, Stage, type ModelSignature } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { eventually, isolateStack, type IsolatedStack } from "@loopline/testkit";
import { createLogisticTrainer, createOnnxScorer, createRandom, exportLogisticRegressionOnnx, numericSignature, type Trainer } from "@loopline/trainer";
import { loadRetrainConfig } from "./config.js";
import { createRetrainService } from "./service.js";

// Integration: retrain-trigger in-process against the real Kafka and ClickHouse and an in-process
// model-registry. Predictions and labels are inserted straight into an isolated ClickHouse database
// (standing in for clickhouse-sink); shadow and canary traffic is SIMULATED by inserting
// PredictionRecord rows for those routes, scored with the registered ONNX artifacts; DriftReports are
// published on the test's loopline.drift topic as drift-monitor would.

const REFS = ["card_txn:amount_sum_1h", "card_txn:txn_count_1h", "card_txn:countries_24h"];
const MEANS = [100, 5, 2];

/** Seeded synthetic traffic: amount ~ N(100, 50), count 0..10, countries 1..4; fraud follows a logistic truth. */
function traffic(seed: number, n: number, prefix: string): { ids: string[]; x: Float64Array; labels: number[] } {
  const random = createRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  const x = new Float64Array(n * 3);
  const labels: number[] = [];
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const row = [Math.round((100 + 50 * normal()) * 100) / 100, random.int(11), 1 + random.int(4)];
    x.set(row, i * 3);
    const logit = 0.03 * (row[0]! - 100) + 0.4 * (row[1]! - 5) + 0.8 * (row[2]! - 2) - 1;
    labels.push(random.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0);
    ids.push(`${prefix}-${seed}-${i}`);
  }
  return { ids, x, labels };
}

async function scores(onnx: Uint8Array, signature: ModelSignature, x: Float64Array): Promise<Float64Array> {
  const scorer = await createOnnxScorer(onnx, signature, 3);
  try {
    return await scorer.score(x, x.length / 3);
  } finally {
    await scorer.close();
  }
}

/**
 * Inserts prediction rows (one route and version) and, when asked, their labels. History is logged
 * in the past (inside the training lookback); live traffic from now on (after the phase under test began).
 */
async function insertTraffic(s: IsolatedStack, model: string, version: string, route: string, data: ReturnType<typeof traffic>, score: Float64Array, withLabels: boolean, history = false) {
  const now = Date.now();
  const start = history ? now - 1000 * (data.ids.length + 1) : now;
  const rows = data.ids.map((id, i) => {
    const timeMs = start + (history ? 1000 * i : i);
    return {
      request_id: id,
      time: Math.floor(timeMs / 1000),
      time_ms: timeMs,
      model,
      model_version: version,
      route,
      entity_id: `card-${i % 97}`,
      feature_refs: REFS,
      feature_numbers: Array.from(data.x.subarray(i * 3, i * 3 + 3)),
      feature_strings: ["", "", ""],
      feature_statuses: [1, 1, 1],
      score: score[i],
      decision: score[i]! >= 0.5 ? 1 : 0,
      output_names: [],
      output_values: [],
      latency_us: 300,
      degraded: 0,
      source_partition: 0,
      source_offset: i,
      ingested_at: Math.floor(now / 1000),
    };
  });
  await insertRows(s.clickhouse, "predictions", rows);
  if (!withLabels) return;
  await insertRows(
    s.clickhouse,
    "labels",
    data.ids.map((id, i) => ({
      label_id: `label-${id}`,
      request_id: id,
      entity_id: `card-${i % 97}`,
      event_time: Math.floor(now / 1000),
      event_time_ms: now,
      label: data.labels[i],
      label_time: Math.floor(now / 1000),
      label_time_ms: now,
      source_partition: 0,
      source_offset: i,
      ingested_at: Math.floor(now / 1000),
    })),
  );
}

let windowEnd = Date.now();
function driftReport(model: string, version: string, driftedShare: number, auc: number) {
  windowEnd += 60_000;
  return create(DriftReportSchema, {
    reportId: `report-${model}-${windowEnd}`,
    timeMs: BigInt(windowEnd),
    model,
    modelVersion: version,
    route: Route.PRODUCTION,
    segment: "",
    windowStartMs: BigInt(windowEnd - 60_000),
    windowEndMs: BigInt(windowEnd),
    nCurrent: 1000n,
    driftedCount: driftedShare > 0.5 ? 2 : 0,
    driftedShare,
    datasetDrift: driftedShare >= 0.5,
    performance: { labelled: 500n, positives: 150n, auc, accuracy: 0.8, precision: 0.6, recall: 0.5, logLoss: 0.45, calibrationError: 0.03, threshold: 0.5 },
  });
}

test("drift → challenger trained, gated, shadowed, canaried and promoted; a shuffled-label challenger is rejected; a regression rolls back", { timeout: 240_000 }, async (t) => {
  const s = await isolateStack(t, { migrate: true });
  const log = process.env["LOOPLINE_TEST_LOG"] === "1" ? createLogger({ name: "retrain-test", level: "debug" }) : silentLogger;
  const artifactDir = await mkdtemp(join(tmpdir(), "loopline-retrain-"));
  t.after(() => rm(artifactDir, { recursive: true, force: true }));

  const registryService = createRegistryService(
    loadRegistryConfig({ LOOPLINE_TOPIC_PREFIX: s.topicPrefix, LOOPLINE_REGISTRY_GRPC_PORT: "0", LOOPLINE_REGISTRY_ADMIN_PORT: "0", LOOPLINE_REGISTRY_ARTIFACT_DIR: artifactDir, LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(",") }),
    { logger: log },
  );
  await registryService.start();
  t.after(() => registryService.close(1000));
  const address = `127.0.0.1:${registryService.grpcPort}`;
  const registry = createClient(ModelRegistry, address, { timeoutMs: 30_000 });
  t.after(async () => registry.close());

  // Champions: "fraud" starts with a weak model (only the country count, lightly); "fraud_bad" with the true one.
  const signature = numericSignature(REFS);
  const weak = exportLogisticRegressionOnnx({ weights: [0, 0, 0.3], intercept: -1, means: MEANS, scales: [1, 1, 1] });
  const strong = exportLogisticRegressionOnnx({ weights: [0.03, 0.4, 0.8], intercept: -1, means: MEANS, scales: [1, 1, 1] });
  for (const [model, onnx] of [["fraud", weak], ["fraud_bad", strong]] as const) {
    const response = await registry.registerVersion([
      { part: { case: "header", value: { model, signature, lineage: { source: "test" }, metrics: {}, actor: "test" } } },
      { part: { case: "chunk", value: onnx } },
    ]);
    assert.equal(response.version?.version, "1");
    await registry.transitionStage({ model, version: "1", toStage: Stage.PRODUCTION, expectedStage: Stage.CANDIDATE, actor: "test", reason: "seed champion" });
  }
  const history = traffic(1, 1500, "hist");
  await insertTraffic(s, "fraud", "1", "production", history, await scores(weak, signature, history.x), true, true);
  const historyBad = traffic(2, 1500, "hist");
  await insertTraffic(s, "fraud_bad", "1", "production", historyBad, await scores(strong, signature, historyBad.x), true, true);

  // Watch loopline.retrain.
  const decisions: RetrainDecision[] = [];
  const watcher = s.kafka.createConsumer({
    groupId: `${s.topicPrefix}watcher`,
    topics: [topicName(s.topicPrefix, "retrain")],
    handler: async (batch) => {
      for (const r of batch.records) decisions.push(fromBinary(RetrainDecisionSchema, r.value ?? new Uint8Array()));
      await Promise.resolve();
    },
  });
  await s.kafka.ensureTopics([{ topic: topicName(s.topicPrefix, "retrain"), partitions: 3 }]);
  await watcher.start();
  t.after(() => watcher.close());

  // A trainer that shuffles the training labels of "fraud_bad" (the bad challenger) and trains the rest normally.
  const logistic = createLogisticTrainer({});
  const trainer: Trainer = {
    name: "test:shuffle-fraud_bad",
    fit: (input) => {
      if (input.model !== "fraud_bad") return logistic.fit(input);
      const random = createRandom(99);
      const y = Float64Array.from(input.train.y);
      for (let i = y.length - 1; i > 0; i--) {
        const j = random.int(i + 1);
        [y[i], y[j]] = [y[j]!, y[i]!];
      }
      return logistic.fit({ ...input, train: { ...input.train, y } });
    },
  };

  const config = loadRetrainConfig({
    LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(","),
    LOOPLINE_CLICKHOUSE_URL: s.endpoints.clickhouseUrl,
    LOOPLINE_CLICKHOUSE_DATABASE: s.database,
    LOOPLINE_TOPIC_PREFIX: s.topicPrefix,
    LOOPLINE_REGISTRY_ADDRESS: address,
    LOOPLINE_RETRAIN_ADMIN_PORT: "0",
    LOOPLINE_RETRAIN_TICK: "250ms",
    LOOPLINE_RETRAIN_GROUP: `${s.topicPrefix}retrain-trigger`,
    LOOPLINE_RETRAIN_POLICIES: JSON.stringify({
      "*": {
        drift: { drifted_share: 0.5, consecutive: 2 },
        decay: { enabled: false },
        cooldown: 0,
        training: { lookback: "1d" },
        offline: { max_calibration_error: 0.15, latency_budget_ms: 20 },
        shadow: { min_labelled: 200, resamples: 300 },
        canary: { percent: 25, min_labelled: 150 },
        rollback: { watch: "10m", min_labelled: 100, auc_drop: 0.05 },
      },
    }),
  });
  const service = createRetrainService(config, { logger: log, metrics: createMetrics({ service: "retrain-trigger", defaultMetrics: false }), trainer });
  await service.start();
  t.after(() => service.close());

  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  const publish = (report: ReturnType<typeof driftReport>) =>
    producer.send(topicName(s.topicPrefix, "drift"), [{ key: report.model, value: Buffer.from(toBinary(DriftReportSchema, report)), headers: { "content-type": "application/x-protobuf" } }]);
  const stageOf = async (model: string, version: string) => (await registry.getVersion({ model, version })).version?.stage;
  const find = (model: string, action: string) => decisions.find((d) => d.model === model && d.action === action);

  // 1. Drift on both models for two consecutive windows.
  await publish(driftReport("fraud", "1", 0.2, 0.7));
  await publish(driftReport("fraud_bad", "1", 0.8, 0.84));
  await publish(driftReport("fraud", "1", 0.8, 0.7));
  await publish(driftReport("fraud", "1", 0.8, 0.7));
  await publish(driftReport("fraud_bad", "1", 0.8, 0.84));

  // 2. The shuffled-label challenger of fraud_bad is rejected at the offline gate and never registered.
  const rejected = await eventually(async () => find("fraud_bad", "rejected"), (d) => d !== undefined, { what: "fraud_bad rejected", timeoutMs: 60_000 });
  assert.equal(rejected?.policy, "promotion");
  assert.match(rejected?.reason ?? "", /offline gate failed: AUC/);
  const rejectedEvidence = JSON.parse(rejected?.evidenceJson ?? "{}") as { gate: { checks: { name: string; value: number; limit: number }[] } };
  const aucCheck = rejectedEvidence.gate.checks.find((c) => c.name === "auc");
  assert.ok(aucCheck !== undefined && aucCheck.value < 0.65 && aucCheck.limit > 0.7, `challenger ${aucCheck?.value} vs limit ${aucCheck?.limit}`);
  assert.equal((await registry.getModel({ name: "fraud_bad" })).model?.versionCount, 1);

  // 3. fraud: declined on the clean window, triggered on the second drifted one, then v2 is registered and in shadow.
  const triggered = await eventually(async () => find("fraud", "triggered"), (d) => d !== undefined, { what: "fraud triggered", timeoutMs: 60_000 });
  // Same key, same partition: the declined decisions before the trigger have arrived too.
  const declined = decisions.filter((d) => d.model === "fraud" && d.action === "declined").map((d) => d.reason);
  assert.match(declined[0] ?? "", /drift: drifted_share 0\.200 < 0\.5/);
  assert.match(declined[1] ?? "", /drift: drifted_share 0\.800 ≥ 0\.5, 1 of 2 consecutive windows/);
  assert.equal(triggered?.policy, "drift");
  await eventually(() => stageOf("fraud", "2"), (stage) => stage === Stage.SHADOW, { what: "v2 in shadow", timeoutMs: 60_000 });
  const v2 = (await registry.getVersion({ model: "fraud", version: "2" })).version;
  assert.ok(v2 !== undefined);
  assert.equal(v2.lineage?.parentVersion, "1");
  assert.equal(v2.lineage?.trainingRows, 1500n);
  assert.match(v2.lineage?.trainingDataSha256 ?? "", /^[0-9a-f]{64}$/);
  assert.match(v2.lineage?.trainingQuery ?? "", /labelled_predictions/);
  assert.ok((v2.metrics["auc"] ?? 0) > 0.75, `holdout AUC ${v2.metrics["auc"]}`);
  const profile = JSON.parse(new TextDecoder().decode(v2.referenceProfile)) as { columns: { name: string }[] };
  assert.deepEqual(profile.columns.map((c) => c.name), [...REFS, "score"]);
  const chunks: Uint8Array[] = [];
  for await (const part of registry.getArtifact({ model: "fraud", version: "2" })) chunks.push(part.chunk);
  const v2Onnx = new Uint8Array(Buffer.concat(chunks));
  const v2Signature = v2.signature as ModelSignature;

  // 4. Simulated shadow traffic: the same requests answered by v1 (production) and v2 (shadow), then labelled.
  const mirrored = traffic(3, 400, "shadow");
  await insertTraffic(s, "fraud", "1", "production", mirrored, await scores(weak, signature, mirrored.x), false);
  await insertTraffic(s, "fraud", "2", "shadow", mirrored, await scores(v2Onnx, v2Signature, mirrored.x), true);
  await eventually(() => stageOf("fraud", "2"), (stage) => stage === Stage.CANARY, { what: "v2 in canary", timeoutMs: 60_000 });
  assert.equal((await registry.getVersion({ model: "fraud", version: "2" })).version?.serving?.canaryPercent, 25);
  assert.match(find("fraud", "canary")?.reason ?? "", /paired bootstrap/);

  // 5. Simulated canary traffic: v2 answers its share, v1 the rest; both labelled.
  const canaryTraffic = traffic(4, 300, "canary");
  await insertTraffic(s, "fraud", "2", "canary", canaryTraffic, await scores(v2Onnx, v2Signature, canaryTraffic.x), true);
  const rest = traffic(5, 300, "rest");
  await insertTraffic(s, "fraud", "1", "production", rest, await scores(weak, signature, rest.x), true);
  await eventually(async () => (await registry.getModel({ name: "fraud" })).model?.productionVersion, (v) => v === "2", { what: "v2 in production", timeoutMs: 60_000 });
  const promoted = await eventually(async () => find("fraud", "promoted"), (d) => d !== undefined, { what: "promoted decision", timeoutMs: 60_000 });
  assert.equal(promoted?.challengerVersion, "2");

  // 6. The new champion's live AUC falls well below v1's (0.70 − 0.05): automatic rollback to v1.
  await publish(driftReport("fraud", "2", 0.1, 0.55));
  await eventually(async () => (await registry.getModel({ name: "fraud" })).model?.productionVersion, (v) => v === "1", { what: "rolled back to v1", timeoutMs: 60_000 });
  const rolledBack = await eventually(async () => find("fraud", "rolled_back"), (d) => d !== undefined, { what: "rolled_back decision", timeoutMs: 60_000 });
  assert.equal(rolledBack?.modelVersion, "2");
  assert.match(rolledBack?.reason ?? "", /live AUC 0\.5500 < previous champion's 0\.7000/);
  const retrainId = (d: RetrainDecision | undefined) => (JSON.parse(d?.evidenceJson ?? "{}") as { retrain_id?: string }).retrain_id;
  assert.ok(retrainId(triggered) !== undefined);
  assert.deepEqual([find("fraud", "shadow"), find("fraud", "canary"), promoted, rolledBack].map(retrainId), Array(4).fill(retrainId(triggered)), "one retrain, one id across its decisions");
  assert.equal(v2.lineage?.runId, retrainId(triggered));
  const events = (await registry.getHistory({ model: "fraud" })).events;
  assert.ok(events.some((e) => e.actor === "retrain-trigger" && /automatic rollback/.test(e.reason)));

  // 7. An operator forces a weak model into production outside retrain-trigger: it is watched
  //    against the champion it replaced (live AUC 0.9) and rolled back when it falls below.
  await publish(driftReport("fraud_bad", "1", 0.1, 0.9));
  await new Promise((r) => setTimeout(r, 1000));
  const forcedProduction = (await registry.getModel({ name: "fraud_bad" })).model?.productionVersion ?? "";
  const forced = await registry.registerVersion([
    { part: { case: "header", value: { model: "fraud_bad", signature, lineage: { source: "operator" }, metrics: {}, actor: "operator" } } },
    { part: { case: "chunk", value: weak } },
  ]);
  const forcedVersion = forced.version?.version ?? "";
  await registry.transitionStage({ model: "fraud_bad", version: forcedVersion, toStage: Stage.PRODUCTION, expectedStage: Stage.CANDIDATE, expectedProductionVersion: forcedProduction, actor: "operator", reason: "hotfix without gates" });
  const watching = await eventually(async () => decisions.find((d) => d.model === "fraud_bad" && d.action === "watching"), (d) => d !== undefined, { what: "watching the forced champion", timeoutMs: 60_000 });
  assert.equal(watching?.modelVersion, forcedVersion);
  await publish(driftReport("fraud_bad", forcedVersion, 0.1, 0.55));
  await eventually(async () => (await registry.getModel({ name: "fraud_bad" })).model?.productionVersion, (v) => v === forcedProduction, { what: "forced champion rolled back", timeoutMs: 60_000 });
  const undone = decisions.find((d) => d.model === "fraud_bad" && d.action === "rolled_back");
  assert.match(undone?.reason ?? "", /live AUC 0\.5500 < previous champion's 0\.9000/);
});
