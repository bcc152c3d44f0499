import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { createMetrics, deadLetterRecord, queryRows, type ConsumedRecord } from "@loopline/kit";
import { encodeFeatureUpdate, toFeatureValue } from "@loopline/proto";
import { ColumnDriftSchema, DriftReportSchema, PerformanceSchema, RetrainDecisionSchema } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import { EventSchema } from "@loopline/proto/gen/loopline/v1/events_pb.js";
import { LabelSchema, PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { ModelEventSchema, ModelEventType, ModelVersionSchema, Stage } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { isolateStack, type IsolatedStack } from "@loopline/testkit";
import { loadClickHouseSinkConfig } from "./config.js";
import { createClickHouseSinkService } from "./service.js";
import { ALL_SINK_TOPICS, count, sinkEnv, waitForCommitted } from "./test-helpers.js";

// Integration: the sink in-process against the real Kafka and ClickHouse, every topic kind.

const PB = { "content-type": "application/x-protobuf" };
const T0 = Date.UTC(2026, 2, 14, 9, 30, 0); // 2026-03-14 09:30:00 UTC

async function startSink(t: { after(fn: () => Promise<void>): void }, s: IsolatedStack) {
  const config = loadClickHouseSinkConfig(
    sinkEnv({ prefix: s.topicPrefix, database: s.database, clickhouseUrl: s.endpoints.clickhouseUrl, brokers: s.endpoints.kafkaBrokers }),
  );
  const metrics = createMetrics({ service: "clickhouse-sink", defaultMetrics: false });
  const service = createClickHouseSinkService(config, { logger: s.logger, metrics });
  await service.start();
  t.after(() => service.close());
  return { service, metrics, group: config.consumerGroup, topics: ALL_SINK_TOPICS.map((b) => `${s.topicPrefix}${b}`) };
}

test("every topic lands in its table with the values it carried", async (t) => {
  const s = await isolateStack(t, { migrate: true });
  const sink = await startSink(t, s);
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  const topic = (base: string) => `${s.topicPrefix}${base}`;

  const prediction = create(PredictionRecordSchema, {
    requestId: "req-1",
    timeMs: BigInt(T0 + 250),
    model: "fraud",
    modelVersion: "3",
    route: Route.CANARY,
    entityId: "card-7",
    featureRefs: ["card_txn:amount_sum_1h", "card_txn:country", "card_txn:is_new"],
    featureValues: [toFeatureValue(42.5), toFeatureValue("FR"), toFeatureValue(true)],
    featureStatuses: [FeatureStatus.PRESENT, FeatureStatus.PRESENT, FeatureStatus.OUTSIDE_MAX_AGE],
    score: 0.875,
    decision: true,
    outputs: [
      { name: "probabilities", values: [0.125, 0.875] },
      { name: "label", values: [1] },
    ],
    latencyUs: 1234,
    degraded: true,
  });
  const drift = create(DriftReportSchema, {
    reportId: "rep-1",
    timeMs: BigInt(T0),
    model: "fraud",
    modelVersion: "3",
    route: Route.PRODUCTION,
    segment: "country=FR",
    windowStartMs: BigInt(T0 - 3_600_000),
    windowEndMs: BigInt(T0),
    nCurrent: 500n,
    features: [create(ColumnDriftSchema, { column: "card_txn:amount_sum_1h", method: "ks", statistic: 0.31, pValue: 0.002, threshold: 0.05, drifted: true, nReference: 1000n, nCurrent: 500n })],
    prediction: create(ColumnDriftSchema, { column: "score", method: "wasserstein", statistic: 0.04, threshold: 0.1, nReference: 1000n, nCurrent: 500n }),
    driftedCount: 1,
    driftedShare: 1,
    datasetDrift: true,
    performance: create(PerformanceSchema, { labelled: 80n, positives: 8n, auc: 0.91, accuracy: 0.95, precision: 0.7, recall: 0.875, logLoss: 0.2, calibrationError: 0.03, threshold: 0.5 }),
  });
  const modelEvent = create(ModelEventSchema, {
    sequence: 17n,
    timeMs: BigInt(T0),
    type: ModelEventType.STAGE_CHANGED,
    model: "fraud",
    version: "3",
    fromStage: Stage.CANARY,
    toStage: Stage.PRODUCTION,
    actor: "retrain-trigger",
    reason: "canary beat champion",
    evidenceJson: '{"auc":0.91}',
    snapshot: create(ModelVersionSchema, { model: "fraud", version: "3", stage: Stage.PRODUCTION, referenceProfile: new Uint8Array(1000) }),
  });
  const original: ConsumedRecord = { topic: topic("events"), partition: 2, offset: "41", key: Buffer.from("card-9"), value: Buffer.from("{broken"), headers: { "content-type": Buffer.from("application/json") }, timestamp: T0 };
  const letter = deadLetterRecord(original, { code: "MALFORMED_JSON", detail: "Unexpected token b" }, "feature-ingest", T0 + 5000);

  await producer.sendBatch([
    { topic: topic("predictions"), records: [{ key: "card-7", value: Buffer.from(toBinary(PredictionRecordSchema, prediction)), partition: 0 }, { key: "x", value: Buffer.from([0x0a, 0xff]), partition: 0 }] },
    {
      topic: topic("features"),
      records: [{ key: "card-7", value: Buffer.from(encodeFeatureUpdate({ entity: "card", entityId: "card-7", view: "card_txn", asOf: T0, revision: 2, values: { amount_sum_1h: 42.5, country: "FR", note: null }, producedAt: T0 + 9, sourceEventId: "ev-77" })) }],
    },
    { topic: topic("drift"), records: [{ key: "fraud", value: Buffer.from(toBinary(DriftReportSchema, drift)) }] },
    { topic: topic("models"), records: [{ key: "fraud", value: Buffer.from(toBinary(ModelEventSchema, modelEvent)), headers: PB }] },
    { topic: topic("retrain"), records: [{ key: "fraud", value: Buffer.from(toBinary(RetrainDecisionSchema, create(RetrainDecisionSchema, { decisionId: "d-1", timeMs: BigInt(T0), model: "fraud", modelVersion: "3", policy: "drift", action: "triggered", reason: "ks p < 0.05", evidenceJson: "{}", challengerVersion: "4" }))) }] },
    {
      topic: topic("events"),
      records: [
        { key: "card-7", value: JSON.stringify({ event_id: "ev-77", entity: "card", entity_id: "card-7", event_time: "2026-03-14T09:30:00Z", type: "transaction", fields: { amount: 42.5 } }) },
        { key: "card-8", value: Buffer.from(toBinary(EventSchema, create(EventSchema, { eventId: "ev-78", entity: "card", entityId: "card-8", eventTimeMs: BigInt(T0 + 1000), type: "transaction", fields: { amount: toFeatureValue(3) } }))), headers: PB },
      ],
    },
    { topic: topic("events.dlq"), records: [letter] },
  ]);
  await waitForCommitted(s.kafka, sink.group, sink.topics, 60_000);

  const [p] = await queryRows(s.clickhouse, "SELECT * FROM predictions_dedup");
  assert.deepEqual(
    { ...p, ingested_at: undefined, source_offset: undefined, source_partition: undefined },
    {
      request_id: "req-1",
      time: "2026-03-14 09:30:00",
      time_ms: "1773480600250",
      model: "fraud",
      model_version: "3",
      route: "canary",
      entity_id: "card-7",
      feature_refs: ["card_txn:amount_sum_1h", "card_txn:country", "card_txn:is_new"],
      feature_numbers: [42.5, null, 1], // ClickHouse renders nan as null in JSON
      feature_strings: ["", "FR", ""],
      feature_statuses: [1, 1, 4],
      score: 0.875,
      decision: 1,
      output_names: ["probabilities[0]", "probabilities[1]", "label"],
      output_values: [0.125, 0.875, 1],
      latency_us: 1234,
      degraded: 1,
      ingested_at: undefined,
      source_offset: undefined,
      source_partition: undefined,
    },
  );

  const [f] = await queryRows(s.clickhouse, "SELECT record_id, entity, entity_id, view, event_time, revision, feature_names, feature_numbers, feature_strings, feature_statuses FROM features_dedup");
  assert.deepEqual(f, {
    record_id: "ev-77",
    entity: "card",
    entity_id: "card-7",
    view: "card_txn",
    event_time: "2026-03-14 09:30:00",
    revision: "2",
    feature_names: ["amount_sum_1h", "country", "note"],
    feature_numbers: [42.5, null, null],
    feature_strings: ["", "FR", ""],
    feature_statuses: [1, 1, 2],
  });

  const d = await queryRows<{ kind: string; column: string; statistic: number; p_value: number | null; drifted: number; n_current: string }>(
    s.clickhouse,
    "SELECT kind, column, statistic, p_value, drifted, n_current FROM drift_reports_dedup WHERE report_id = 'rep-1' ORDER BY kind, column",
  );
  assert.deepEqual(
    d.map((r) => [r.kind, r.column, r.statistic, r.p_value, r.drifted, r.n_current]),
    [
      ["dataset", "drifted_share", 1, null, 1, "500"],
      ["feature", "card_txn:amount_sum_1h", 0.31, 0.002, 1, "500"],
      ["performance", "accuracy", 0.95, null, 0, "80"],
      ["performance", "auc", 0.91, null, 0, "80"],
      ["performance", "calibration_error", 0.03, null, 0, "80"],
      ["performance", "log_loss", 0.2, null, 0, "80"],
      ["performance", "positives", 8, null, 0, "80"],
      ["performance", "precision", 0.7, null, 0, "80"],
      ["performance", "recall", 0.875, null, 0, "80"],
      ["prediction", "score", 0.04, null, 0, "500"],
    ],
  );

  const [m] = await queryRows<Record<string, string>>(s.clickhouse, "SELECT sequence, model, model_version, event_type, stage_from, stage_to, actor, reason, evidence, snapshot_json FROM model_events_dedup");
  assert.equal(m?.["sequence"], "17");
  assert.deepEqual([m?.["event_type"], m?.["stage_from"], m?.["stage_to"], m?.["actor"], m?.["evidence"]], ["stage_changed", "canary", "production", "retrain-trigger", '{"auc":0.91}']);
  assert.equal((JSON.parse(m?.["snapshot_json"] ?? "{}") as { stage?: string }).stage, "STAGE_PRODUCTION");
  assert.ok(!(m?.["snapshot_json"] ?? "").includes("referenceProfile"), "the reference profile is left out");

  assert.deepEqual(await queryRows(s.clickhouse, "SELECT decision_id, policy, action, challenger_version FROM retrain_decisions_dedup"), [
    { decision_id: "d-1", policy: "drift", action: "triggered", challenger_version: "4" },
  ]);
  assert.deepEqual(await queryRows(s.clickhouse, "SELECT event_id, entity_id, event_time, fields_json FROM events_dedup ORDER BY event_id"), [
    { event_id: "ev-77", entity_id: "card-7", event_time: "2026-03-14 09:30:00", fields_json: '{"amount":42.5}' },
    { event_id: "ev-78", entity_id: "card-8", event_time: "2026-03-14 09:30:01", fields_json: '{"amount":3}' },
  ]);

  const letters = await queryRows<Record<string, string | number>>(
    s.clickhouse,
    "SELECT source_topic, source_partition, source_offset, time, service, reason, detail, record_key, record_value, value_encoding, headers_json FROM dead_letters_dedup ORDER BY service",
  );
  assert.equal(letters.length, 2);
  assert.deepEqual(letters[0], {
    source_topic: topic("predictions"),
    source_partition: 0,
    source_offset: "1",
    time: letters[0]?.["time"] as string,
    service: "clickhouse-sink",
    reason: "MALFORMED_PROTOBUF",
    detail: letters[0]?.["detail"] as string,
    record_key: "x",
    record_value: Buffer.from([0x0a, 0xff]).toString("base64"),
    value_encoding: "base64",
    headers_json: "{}",
  });
  assert.match(String(letters[0]?.["detail"]), /PredictionRecord/);
  assert.deepEqual(letters[1], {
    source_topic: topic("events"),
    source_partition: 2,
    source_offset: "41",
    time: "2026-03-14 09:30:05",
    service: "feature-ingest",
    reason: "MALFORMED_JSON",
    detail: "Unexpected token b",
    record_key: "card-9",
    record_value: "{broken",
    value_encoding: "utf8",
    headers_json: '{"content-type":"application/json"}',
  });

  const text = await sink.metrics.registry.metrics();
  assert.match(text, /loopline_sink_dead_letters_total\{[^}]*topic="[^"]*predictions",reason="MALFORMED_PROTOBUF"[^}]*\} 1/);
  assert.match(text, /loopline_sink_rows_inserted_total\{[^}]*table="drift_reports"[^}]*\} 10/);
  assert.match(text, /loopline_sink_lag_records\{[^}]*table="predictions"[^}]*\} 0/);
  assert.equal(await count(s.clickhouse, "SELECT count() AS n FROM labels"), 0);
});

test("labels in all three forms: ids derived, corrections win, redelivery collapses, joined to predictions", async (t) => {
  const s = await isolateStack(t, { migrate: true });
  const sink = await startSink(t, s);
  const producer = await s.kafka.createProducer();
  t.after(() => producer.close());
  const topic = (base: string) => `${s.topicPrefix}${base}`;
  const pred = (requestId: string, entityId: string, timeMs: number, version = "1", route = Route.PRODUCTION) => ({
    key: entityId,
    value: Buffer.from(toBinary(PredictionRecordSchema, create(PredictionRecordSchema, { requestId, timeMs: BigInt(timeMs), model: "fraud", modelVersion: version, route, entityId, score: 0.5 }))),
  });
  await producer.send(topic("predictions"), [
    pred("r1", "e1", T0),
    pred("r1", "e1", T0, "2", Route.SHADOW),
    pred("r2a", "e2", T0 + 10_000),
    pred("r2b", "e2", T0 + 20_000),
    pred("r2c", "e2", T0 + 40_000),
  ]);
  const byEntity = JSON.stringify({ entity_id: "e2", event_time: T0 + 30_000, label: true });
  // One partition so the correction is read after the label it corrects.
  await producer.send(
    topic("labels"),
    [
      { value: Buffer.from(toBinary(LabelSchema, create(LabelSchema, { requestId: "r1", label: 1, labelTimeMs: BigInt(T0 + 3_600_000) }))), headers: PB },
      { value: JSON.stringify({ request_id: "r2a", label: 0, label_time: "2026-03-14T10:00:00Z" }) },
      { value: byEntity, timestamp: T0 + 60_000 },
      { value: JSON.stringify({ request_id: "r2a", label: 1, label_time: "2026-03-14T11:00:00Z" }) },
      { value: byEntity, timestamp: T0 + 120_000 }, // the same label sent again, later
      { value: JSON.stringify({ label: 1 }) },
      { value: JSON.stringify({ request_id: "r9", label: "yes" }) },
    ].map((r) => ({ ...r, partition: 0 })),
  );
  await waitForCommitted(s.kafka, sink.group, sink.topics, 60_000);

  // Ids: first 32 hex digits of `printf 'request_id\0r1' | sha256sum` (and r2a), and of `printf 'entity\0e2\01773480630000' | sha256sum`.
  assert.deepEqual(await queryRows(s.clickhouse, "SELECT label_id, request_id, entity_id, label, label_time FROM labels_dedup ORDER BY request_id, label_id"), [
    { label_id: "0dfd44221b1632d8d014ec855ba481bf", request_id: "", entity_id: "e2", label: 1, label_time: "2026-03-14 09:32:00" },
    { label_id: "f3a03ce6c092982dbee577f82f87af46", request_id: "r1", entity_id: "", label: 1, label_time: "2026-03-14 10:30:00" },
    { label_id: "e3b6d24fd4bf2d05b6eba619ed60d747", request_id: "r2a", entity_id: "", label: 1, label_time: "2026-03-14 11:00:00" },
  ]);
  assert.deepEqual(await queryRows(s.clickhouse, "SELECT request_id, model_version, route, label, matched_by FROM labelled_predictions ORDER BY request_id, model_version"), [
    { request_id: "r1", model_version: "1", route: "production", label: 1, matched_by: "request_id" },
    { request_id: "r1", model_version: "2", route: "shadow", label: 1, matched_by: "request_id" },
    { request_id: "r2a", model_version: "1", route: "production", label: 1, matched_by: "request_id" },
    // e2's label at T0+30s belongs to its latest prediction at or before then: r2b (T0+20s), not r2c.
    { request_id: "r2b", model_version: "1", route: "production", label: 1, matched_by: "entity_time" },
  ]);
  assert.deepEqual(await queryRows(s.clickhouse, "SELECT reason, detail FROM dead_letters_dedup ORDER BY reason"), [
    { reason: "INVALID_FIELD", detail: 'field label must be a number or true/false, got "yes"' },
    { reason: "MISSING_FIELD", detail: "a label needs request_id, or entity_id with event_time" },
  ]);
});
