import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { createMetrics, deadLetterRecord, queryRows, type OutgoingRecord } from "@loopline/kit";
import { toFeatureValue } from "@loopline/proto";
import { ColumnDriftSchema, DriftReportSchema } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import { LabelSchema, PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { isolateStack } from "@loopline/testkit";
import { loadClickHouseSinkConfig } from "./config.js";
import { createClickHouseSinkService } from "./service.js";
import { ALL_SINK_TOPICS, sinkEnv, waitForCommitted } from "./test-helpers.js";

// The ops queries of the sink's README.md, read from the README itself, run against the real
// ClickHouse on data produced through the sink. Expected answers are worked by hand from the dataset
// below. The repository's README carries the same queries, checked to be the same text.

const queriesOf = (readme: URL) => new Map([...readFileSync(readme, "utf8").matchAll(/```sql\n-- ops: (\w+)\n([\s\S]*?)```/g)].map((m) => [m[1] as string, m[2] as string]));
const QUERIES = queriesOf(new URL("../README.md", import.meta.url));

test("the repository's README carries the sink README's ops queries, word for word", () => {
  assert.deepEqual(queriesOf(new URL("../../../README.md", import.meta.url)), QUERIES);
});

const H10 = Date.UTC(2026, 3, 1, 10, 0, 0); // 2026-04-01 10:00:00 UTC
const H11 = Date.UTC(2026, 3, 1, 11, 0, 0);

function prediction(requestId: string, timeMs: number, version: string, route: Route, score: number, latencyUs: number, country: string): OutgoingRecord {
  const p = create(PredictionRecordSchema, {
    requestId,
    timeMs: BigInt(timeMs),
    model: "fraud",
    modelVersion: version,
    route,
    entityId: `card-${requestId}`,
    featureRefs: ["card_txn:amount_sum_1h", "card_txn:last_country"],
    featureValues: [toFeatureValue(score * 100), toFeatureValue(country)],
    score,
    decision: score >= 0.5,
    latencyUs,
  });
  return { key: requestId, value: Buffer.from(toBinary(PredictionRecordSchema, p)) };
}

test("every ops query of the README answers correctly on data that went through the sink", async (t) => {
  assert.deepEqual([...QUERIES.keys()].sort(), ["dead_letters_by_reason", "drift_over_time", "labelled_performance", "latency_percentiles", "predictions_per_hour", "score_histogram"]);
  const s = await isolateStack(t, { migrate: true });
  const config = loadClickHouseSinkConfig(sinkEnv({ prefix: s.topicPrefix, database: s.database, clickhouseUrl: s.endpoints.clickhouseUrl, brokers: s.endpoints.kafkaBrokers }));
  const service = createClickHouseSinkService(config, { logger: s.logger, metrics: createMetrics({ service: "clickhouse-sink", defaultMetrics: false }) });
  await service.start();
  t.after(() => service.close());
  const topic = (base: string) => `${s.topicPrefix}${base}`;

  // fraud v1 (production): 100 predictions in the 10:00 hour with score i/100, latency 1000 µs for
  // i < 60, 2000 for i < 95, 9000 above; country FR for even i, US for odd. 20 more at 11:00, score 0.05,
  // 1000 µs. fraud v2 (canary): 30 at 10:00, score 0.95, 500 µs.
  const preds: OutgoingRecord[] = [];
  for (let i = 0; i < 100; i++) preds.push(prediction(`a-${i}`, H10 + i * 30_000, "1", Route.PRODUCTION, i / 100, i < 60 ? 1000 : i < 95 ? 2000 : 9000, i % 2 === 0 ? "FR" : "US"));
  for (let j = 0; j < 20; j++) preds.push(prediction(`b-${j}`, H11 + j * 60_000, "1", Route.PRODUCTION, 0.05, 1000, "FR"));
  for (let k = 0; k < 30; k++) preds.push(prediction(`c-${k}`, H10 + k * 60_000, "2", Route.CANARY, 0.95, 500, "US"));
  preds.push({ key: "junk", value: Buffer.from([0xff, 0xff, 0xff]) }, { key: "junk", value: Buffer.from("not protobuf at all \u0001") });

  // Labels of the 10:00 v1 predictions: positive when i >= 70 and for i = 10 and 20. Half protobuf, half JSON.
  const labels: OutgoingRecord[] = [];
  for (let i = 0; i < 100; i++) {
    const label = i >= 70 || i === 10 || i === 20 ? 1 : 0;
    labels.push(
      i % 2 === 0
        ? { key: `a-${i}`, value: Buffer.from(toBinary(LabelSchema, create(LabelSchema, { requestId: `a-${i}`, label, labelTimeMs: BigInt(H11 + 3_600_000) }))), headers: { "content-type": "application/x-protobuf" } }
        : { key: `a-${i}`, value: JSON.stringify({ request_id: `a-${i}`, label, label_time: "2026-04-01T12:00:00Z" }) },
    );
  }
  labels.push({ key: "bad", value: JSON.stringify({ label: 1 }) });

  const drift = (id: string, end: number, statistic: number, pValue: number, drifted: boolean): OutgoingRecord => ({
    key: "fraud",
    value: Buffer.from(
      toBinary(
        DriftReportSchema,
        create(DriftReportSchema, {
          reportId: id,
          timeMs: BigInt(end),
          model: "fraud",
          modelVersion: "1",
          route: Route.PRODUCTION,
          windowStartMs: BigInt(end - 3_600_000),
          windowEndMs: BigInt(end),
          features: [create(ColumnDriftSchema, { column: "card_txn:amount_sum_1h", method: "ks", statistic, pValue, threshold: 0.05, drifted })],
        }),
      ),
    ),
  });

  const original = (offset: number) => ({ topic: topic("events"), partition: 0, offset: String(offset), key: null, value: Buffer.from("{"), headers: {}, timestamp: H10 });
  await (async () => {
    const producer = await s.kafka.createProducer();
    try {
      await producer.sendBatch([
        { topic: topic("predictions"), records: preds },
        { topic: topic("labels"), records: labels },
        { topic: topic("drift"), records: [drift("r-10", H10, 0.1, 0.3, false), drift("r-11", H11, 0.4, 0.001, true)] },
        {
          topic: topic("events.dlq"),
          records: [
            deadLetterRecord(original(1), { code: "MALFORMED_JSON", detail: "x" }, "feature-ingest", H10),
            deadLetterRecord(original(2), { code: "MALFORMED_JSON", detail: "x" }, "feature-ingest", H10 + 1000),
            deadLetterRecord(original(3), { code: "TOO_LATE", detail: "x" }, "feature-ingest", H10 + 2000),
          ],
        },
      ]);
    } finally {
      await producer.close();
    }
  })();
  await waitForCommitted(s.kafka, config.consumerGroup, ALL_SINK_TOPICS.map(topic), 60_000);
  const run = <T>(name: string) => queryRows<T>(s.clickhouse, (QUERIES.get(name) as string).replace(/\bloopline\./g, `${s.database}.`));

  assert.deepEqual(await run("predictions_per_hour"), [
    { hour: "2026-04-01 10:00:00", model: "fraud", model_version: "1", route: "production", predictions: "100" },
    { hour: "2026-04-01 10:00:00", model: "fraud", model_version: "2", route: "canary", predictions: "30" },
    { hour: "2026-04-01 11:00:00", model: "fraud", model_version: "1", route: "production", predictions: "20" },
  ]);

  // v1: 120 latencies, sorted: 80 × 1000, 35 × 2000, 5 × 9000 → p50 1000, p90 2000, p99 9000 (no boundary
  // falls between two values, so any percentile convention agrees). v2: all 500.
  assert.deepEqual(await run("latency_percentiles"), [
    { model: "fraud", model_version: "1", predictions: "120", latency_us_p50_p90_p99: [1000, 2000, 9000] },
    { model: "fraud", model_version: "2", predictions: "30", latency_us_p50_p90_p99: [500, 500, 500] },
  ]);

  // v1: ten per bucket from i/100, plus the 20 at 0.05 in bucket 0; v2: 30 in bucket 0.9.
  const buckets = await run<{ model_version: string; bucket: number; predictions: string }>("score_histogram");
  assert.deepEqual(
    buckets.map((b) => [b.model_version, b.bucket, Number(b.predictions)]),
    [...[0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((b) => ["1", b, b === 0 ? 30 : 10]), ["2", 0.9, 30]],
  );

  assert.deepEqual(await run("drift_over_time"), [
    { window_end: "2026-04-01 10:00:00", model: "fraud", model_version: "1", feature: "card_txn:amount_sum_1h", method: "ks", statistic: 0.1, p_value: 0.3, drifted: 0 },
    { window_end: "2026-04-01 11:00:00", model: "fraud", model_version: "1", feature: "card_txn:amount_sum_1h", method: "ks", statistic: 0.4, p_value: 0.001, drifted: 1 },
  ]);

  // Worked by hand. FR = even i: 17 positives (10, 20, 70..98), predicted positive 50..98 (25), TP 15,
  // FP 10, FN 2, TN 23; AUC = pairs (positive above negative) / (17 × 33) = (5 + 9 + 15 × 33) / 561.
  // US = odd i: 15 positives (71..99), predicted 51..99 (25), TP 15, FP 10, FN 0, TN 25; AUC 1.
  const perf = await run<Record<string, number | string>>("labelled_performance");
  assert.equal(perf.length, 2);
  const expected = [
    { segment: "FR", labelled: 50, positives: 17, predicted_positive_rate: 0.5, accuracy: 0.76, precision: 0.6, recall: 15 / 17, auc: 509 / 561 },
    { segment: "US", labelled: 50, positives: 15, predicted_positive_rate: 0.5, accuracy: 0.8, precision: 0.6, recall: 1, auc: 1 },
  ];
  for (const [i, e] of expected.entries()) {
    const got = perf[i] as Record<string, number | string>;
    assert.equal(got["model_version"], "1");
    for (const [k, v] of Object.entries(e)) {
      if (typeof v === "string") assert.equal(got[k], v, k);
      else assert.ok(Math.abs(Number(got[k]) - v) < 1e-9, `${e.segment} ${k}: ${String(got[k])} != ${v}`);
    }
  }

  const letters = await run<Record<string, string>>("dead_letters_by_reason");
  assert.deepEqual(
    letters.map((l) => [l["source_topic"], l["service"], l["reason"], Number(l["letters"])]),
    [
      [topic("events"), "feature-ingest", "MALFORMED_JSON", 2],
      [topic("predictions"), "clickhouse-sink", "MALFORMED_PROTOBUF", 2],
      [topic("events"), "feature-ingest", "TOO_LATE", 1],
      [topic("labels"), "clickhouse-sink", "MISSING_FIELD", 1],
    ],
  );
});
