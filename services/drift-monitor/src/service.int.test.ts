import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createLogger, createMetrics, silentLogger, type ConsumedRecord, type OutgoingRecord } from "@loopline/kit";
import { createRegistryService, loadRegistryConfig } from "@loopline/model-registry";
import { createClient, toFeatureValue } from "@loopline/proto";
import { DriftReportSchema, type DriftReport } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import { LabelSchema, PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { InputEncoding, ModelRegistry, ModelSignatureSchema } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { isolateStack } from "@loopline/testkit";
import { exportLogisticRegressionOnnx } from "@loopline/trainer";
import { loadDriftMonitorConfig } from "./config.js";
import { createDriftMonitorService } from "./service.js";
import { profileBytes, profileColumns, referenceData, rng } from "./test-data.test-helper.js";

// Integration: a registry in-process holding the model and its reference profile, drift-monitor in-process,
// predictions and labels through the real Kafka, reports read back from loopline.drift.

const MODEL = "fraud-it";

/** Collects a topic from the beginning in the background; `until` polls what has arrived. */
async function collect(kafka: Awaited<ReturnType<typeof isolateStack>>["kafka"], groupId: string, topic: string) {
  const got: ConsumedRecord[] = [];
  const c = kafka.createConsumer({ groupId, topics: [topic], handler: async (b) => void got.push(...b.records) });
  await c.start();
  return {
    got,
    until: async (done: (got: ConsumedRecord[]) => boolean, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (!done(got) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (!done(got)) {
        // Say where the reader stood: nothing published, or published but not delivered.
        const ends = await kafka.topicEndOffsets(topic);
        const committed = await kafka.groupOffsets(groupId, topic);
        process.stderr.write(`${topic}: ${got.length} records read; end offsets ${JSON.stringify(ends)}; committed ${JSON.stringify(committed)}\n`);
      }
      return got;
    },
    close: () => c.close(),
  };
}

test("drift-monitor over the real Kafka: drift flagged in the drifted segment only, AUC from late labels", async (t) => {
  const s = await isolateStack(t);
  const dir = await mkdtemp(join(tmpdir(), "loopline-drift-it-"));
  t.after(() => rm(dir, { recursive: true, force: true }));

  // 1. A registry with the model: signature, threshold 0.5, reference profile with a score column.
  const registry = createRegistryService(
    loadRegistryConfig({ LOOPLINE_TOPIC_PREFIX: s.topicPrefix, LOOPLINE_REGISTRY_GRPC_PORT: "0", LOOPLINE_REGISTRY_ARTIFACT_DIR: dir, LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(",") }),
    { logger: silentLogger },
  );
  await registry.start();
  t.after(() => registry.close(1000));
  const address = `127.0.0.1:${registry.grpcPort}`;
  const client = createClient(ModelRegistry, address, { timeoutMs: 30_000 });
  t.after(() => client.close());
  const signature = create(ModelSignatureSchema, {
    inputTensor: "features",
    inputs: [
      { featureRef: "t:amount", encoding: InputEncoding.NUMBER },
      { featureRef: "t:channel", encoding: InputEncoding.ONE_HOT, categories: ["pos", "ecom"] },
      { featureRef: "t:country", encoding: InputEncoding.ONE_HOT, categories: ["FR", "US"] },
    ],
    outputs: [{ name: "probability", meaning: "P(fraud)" }],
    scoreOutput: "probability",
    scoreIndex: 1,
    threshold: 0.5,
    scoreMin: 0,
    scoreMax: 1,
  });
  const registered = await client.registerVersion([
    {
      part: {
        case: "header",
        value: { model: MODEL, signature, referenceProfile: profileBytes(profileColumns(), referenceData(600)), metrics: { auc: 0.95 }, lineage: { source: "test" }, actor: "test" },
      },
    },
    { part: { case: "chunk", value: exportLogisticRegressionOnnx({ weights: [0.01, 0.2, -0.2, 0.1, -0.1], intercept: -1 }) } },
  ]);
  assert.equal(registered.version?.version, "1", registered.version?.statusReason);

  // 2. The monitor: windows of 200, segmented by country.
  const config = loadDriftMonitorConfig({
    LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(","),
    LOOPLINE_TOPIC_PREFIX: s.topicPrefix,
    LOOPLINE_DRIFT_GROUP: `${s.topicPrefix}drift-monitor`,
    LOOPLINE_DRIFT_ADMIN_PORT: "0",
    LOOPLINE_REGISTRY_ADDRESS: address,
    LOOPLINE_DRIFT_WINDOW_SIZE: "200",
    LOOPLINE_DRIFT_WINDOW_INTERVAL: "1h",
    LOOPLINE_DRIFT_SEGMENT_KEYS: "country=t:country",
    LOOPLINE_DRIFT_REFRESH_INTERVAL: "200ms",
    LOOPLINE_DRIFT_TICK: "100ms",
    LOOPLINE_DRIFT_SESSION_TIMEOUT: "6s",
  });
  const service = createDriftMonitorService(config, { logger: process.env["DRIFT_IT_LOG"] === undefined ? silentLogger : createLogger({ name: "drift-monitor", level: "debug" }), metrics: createMetrics({ service: "drift-monitor", defaultMetrics: false }) });
  await service.start();
  t.after(() => service.close());

  // 3. 200 predictions from US like the reference, 200 from FR with larger amounts and higher scores.
  // US scores are evenly spaced, (i + 0.5) / 200; the labels are positive for i >= 100 except that i = 99
  // and i = 100 swap: one discordant pair out of 100 × 100, so AUC = 1 - 1/10000 = 0.9999 by hand, and at
  // threshold 0.5 exactly i = 99 and i = 100 are misclassified: accuracy 198/200, precision = recall = 99/100.
  const r = rng(11);
  const t0 = Date.UTC(2026, 10, 22, 9, 0, 0);
  const records: OutgoingRecord[] = [];
  const usLabels: { requestId: string; entityId: string; timeMs: number; label: 0 | 1 }[] = [];
  for (let i = 0; i < 200; i++) {
    for (const country of ["US", "FR"] as const) {
      const us = country === "US";
      const requestId = `${country}-${i}`;
      const entityId = `card-${country}-${i}`;
      const timeMs = t0 + i * 1000 + (us ? 0 : 500);
      const p = create(PredictionRecordSchema, {
        requestId,
        timeMs: BigInt(timeMs),
        model: MODEL,
        modelVersion: "1",
        route: Route.PRODUCTION,
        entityId,
        featureRefs: ["t:amount", "t:channel", "t:country"],
        featureValues: [toFeatureValue(r.normal(us ? 100 : 160, 20)), toFeatureValue(r.pick(["pos", "ecom"])), toFeatureValue(country)],
        featureStatuses: [FeatureStatus.PRESENT, FeatureStatus.PRESENT, FeatureStatus.PRESENT],
        score: us ? (i + 0.5) / 200 : 0.6 + 0.4 * r.uniform(),
      });
      records.push({ key: entityId, value: Buffer.from(toBinary(PredictionRecordSchema, p)) });
      if (us) usLabels.push({ requestId, entityId, timeMs, label: (i >= 100) !== (i === 99 || i === 100) ? 1 : 0 });
    }
  }
  // Readers of the outputs, joined before anything is produced.
  const drift = await collect(s.kafka, `${s.topicPrefix}drift-reader`, `${s.topicPrefix}drift`);
  t.after(() => drift.close());
  const dlq = await collect(s.kafka, `${s.topicPrefix}dlq-reader`, `${s.topicPrefix}labels.dlq`);
  t.after(() => dlq.close());
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  for (let i = 0; i < records.length; i += 100) await producer.send(`${s.topicPrefix}predictions`, records.slice(i, i + 100));

  // 4. The labels, later and shuffled: protobuf by request id, JSON by request id, JSON by entity and event time.
  const decode = (got: ConsumedRecord[]) => got.map((g) => fromBinary(DriftReportSchema, g.value ?? new Uint8Array()));
  const closed = await drift.until((got) => decode(got).filter((d) => d.segment.startsWith("country=")).length >= 2, 60_000);
  assert.deepEqual(decode(closed).map((d) => d.segment).filter((x) => x !== "").sort(), ["country=FR", "country=US"], "both segments reported when their windows filled");
  assert.ok(decode(closed).every((d) => d.performance === undefined), "no labels yet: reports carry no performance");
  for (let i = usLabels.length - 1; i > 0; i--) {
    const j = Math.floor(r.uniform() * (i + 1));
    [usLabels[i], usLabels[j]] = [usLabels[j]!, usLabels[i]!];
  }
  const labelRecords: OutgoingRecord[] = usLabels.map((l, i) => {
    if (i % 3 === 0) {
      const value = toBinary(LabelSchema, create(LabelSchema, { labelId: `l${i}`, requestId: l.requestId, label: l.label, labelTimeMs: BigInt(t0 + 3_600_000) }));
      return { key: l.entityId, value: Buffer.from(value), headers: { "content-type": "application/x-protobuf" } };
    }
    if (i % 3 === 1) return { key: l.entityId, value: JSON.stringify({ request_id: l.requestId, label: l.label === 1, label_time: new Date(t0 + 3_600_000).toISOString() }) };
    return { key: l.entityId, value: JSON.stringify({ entity_id: l.entityId, event_time: new Date(l.timeMs - 2000).toISOString(), label: l.label }) };
  });
  labelRecords.push({ key: "bad", value: "{broken" });
  await producer.send(`${s.topicPrefix}labels`, labelRecords);

  // 5. Reports until the US window's performance covers all 200 labels.
  const usDone = (d: DriftReport) => d.segment === "country=US" && Number(d.performance?.labelled ?? 0) === 200;
  const reports = decode(await drift.until((got) => decode(got).some(usDone), 60_000));
  const us = reports.filter((d) => d.segment === "country=US");
  const fr = reports.find((d) => d.segment === "country=FR");
  assert.ok(fr, "FR reported");
  const finalUs = us.find(usDone);
  assert.ok(finalUs, `US performance with 200 labels; saw ${us.map((d) => Number(d.performance?.labelled ?? 0)).join(",")}`);
  assert.equal(new Set(us.map((d) => d.reportId)).size, 1, "one US window: refreshes keep its report id");

  const feature = (d: DriftReport, name: string) => d.features.find((f) => f.column === name);
  assert.equal(Number(fr.nCurrent), 200);
  assert.equal(feature(fr, "t:amount")?.drifted, true);
  assert.equal(fr.prediction?.drifted, true);
  assert.equal(fr.datasetDrift, true);
  assert.equal(feature(finalUs, "t:amount")?.drifted, false);
  assert.equal(finalUs.prediction?.drifted, false);
  assert.equal(finalUs.datasetDrift, false);
  assert.equal(finalUs.model, MODEL);
  assert.equal(finalUs.modelVersion, "1");
  assert.equal(finalUs.route, Route.PRODUCTION);
  const p = finalUs.performance;
  assert.ok(p);
  assert.ok(Math.abs((p.auc ?? Number.NaN) - 0.9999) < 1e-12, `AUC ${String(p.auc)}`);
  assert.equal(p.accuracy, 0.99);
  assert.equal(p.precision, 0.99);
  assert.equal(p.recall, 0.99);
  assert.equal(Number(p.positives), 100);
  assert.equal(p.threshold, 0.5);

  // 6. The same numbers on /metrics, and the malformed label in the DLQ with its reason.
  const text = await (await fetch(`http://127.0.0.1:${service.adminPort}/metrics`)).text();
  const gauge = (name: string, segment: string) => new RegExp(`^${name}\\{[^}]*model="${MODEL}"[^}]*segment="${segment}"[^}]*\\} (\\S+)$`, "m").exec(text)?.[1];
  assert.equal(gauge("loopline_drift_dataset_drift", "country=FR"), "1");
  assert.equal(gauge("loopline_drift_dataset_drift", "country=US"), "0");
  assert.equal(Number(gauge("loopline_model_auc", "country=US")).toFixed(4), "0.9999");
  assert.match(text, /loopline_model_reference_auc\{[^}]*model="fraud-it"[^}]*\} 0\.95/);
  const letters = await dlq.until((got) => got.length >= 1, 30_000);
  assert.equal(letters[0]?.headers["loopline-dlq-reason"]?.toString(), "MALFORMED_JSON");
  assert.equal(letters[0]?.value?.toString(), "{broken");
});
