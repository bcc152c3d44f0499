import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { ConfigError, deadLetterRecord, type ConsumedRecord } from "@loopline/kit";
import { encodeFeatureUpdate } from "@loopline/proto";
import { DriftReportSchema, RetrainDecisionSchema } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import { ModelEventSchema, ModelEventType, Stage } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { loadClickHouseSinkConfig } from "./config.js";
import { mapRecord, SINK_DEAD_LETTER_PARTITION } from "./records.js";
import type { Row } from "./rows.js";
import { resolveSinkTopics } from "./topics.js";

const rec = (value: Buffer | null, headers: Record<string, Buffer> = {}, topic = "loopline.x"): ConsumedRecord => ({ topic, partition: 1, offset: "5", key: Buffer.from("k"), value, headers, timestamp: 1_700_000_000_000 });
const rowOf = (m: ReturnType<typeof mapRecord>): Row => {
  assert.ok("rows" in m, JSON.stringify(m));
  return m.rows[0] as Row;
};

test("a feature update becomes a features row with Feast statuses", () => {
  const bytes = encodeFeatureUpdate({ entity: "card", entityId: "c1", view: "v", asOf: 1_700_000_000_999, revision: 3, values: { a: 2, b: "x", c: null, d: true }, producedAt: 1, sourceEventId: "ev" });
  const row = rowOf(mapRecord("features", rec(Buffer.from(bytes)), 7));
  assert.deepEqual(
    [row["record_id"], row["event_time"], row["event_time_ms"], row["revision"], row["feature_names"], row["feature_numbers"], row["feature_strings"], row["feature_statuses"]],
    ["ev", 1_700_000_000, 1_700_000_000_999, 3, ["a", "b", "c", "d"], [2, "nan", "nan", 1], ["", "x", "", ""], [1, 1, 2, 1]],
  );
  const noView = mapRecord("features", rec(Buffer.from(encodeFeatureUpdate({ entity: "", entityId: "c1", view: "", asOf: 1, revision: 0, values: {}, producedAt: 0, sourceEventId: "" }))), 7);
  assert.deepEqual(noView, { rejected: { code: "MISSING_FIELD", detail: "field view is missing from the FeatureUpdate" } });
});

test("a drift report's dataset row carries the share it was judged against; 0.5 for reports without one", () => {
  const datasetRow = (driftShare: number | undefined) => {
    const report = create(DriftReportSchema, { reportId: "r", model: "m", modelVersion: "1", driftedShare: 0.25, datasetDrift: driftShare === 0.2, ...(driftShare === undefined ? {} : { driftShare }) });
    const mapped = mapRecord("drift", rec(Buffer.from(toBinary(DriftReportSchema, report))), 7);
    assert.ok("rows" in mapped);
    const row = mapped.rows.find((r) => r["kind"] === "dataset");
    assert.ok(row);
    return [row["statistic"], row["threshold"], row["drifted"]];
  };
  assert.deepEqual(datasetRow(0.2), [0.25, 0.2, 1]);
  assert.deepEqual(datasetRow(0.3), [0.25, 0.3, 0]);
  // Explicit presence: a configured share of 0 is kept, not read as "absent".
  assert.deepEqual(datasetRow(0)[1], 0);
  assert.deepEqual(datasetRow(undefined), [0.25, 0.5, 0]);
});

test("model events: names lower-cased, tombstones skipped, an empty record elsewhere refused", () => {
  const e = create(ModelEventSchema, { sequence: 18_446_744_073_709_551_615n, timeMs: 1_700_000_000_000n, type: ModelEventType.ROLLED_BACK, model: "m", version: "2", fromStage: Stage.PRODUCTION, toStage: Stage.ARCHIVED, alias: "champion" });
  const row = rowOf(mapRecord("models", rec(Buffer.from(toBinary(ModelEventSchema, e))), 7));
  assert.deepEqual([row["sequence"], row["event_type"], row["stage_from"], row["stage_to"], row["alias"], row["snapshot_json"]], ["18446744073709551615", "rolled_back", "production", "archived", "champion", ""]);
  assert.deepEqual(mapRecord("models", rec(null), 7), { skipped: true });
  assert.deepEqual(mapRecord("predictions", rec(null), 7), { rejected: { code: "EMPTY_RECORD", detail: "the record has no value" } });
});

test("retrain decisions and raw events map; an event without event_id is refused", () => {
  const d = rowOf(mapRecord("retrain", rec(Buffer.from(toBinary(RetrainDecisionSchema, create(RetrainDecisionSchema, { decisionId: "d", model: "m", action: "declined" })))), 7));
  assert.deepEqual([d["decision_id"], d["action"], d["time"]], ["d", "declined", 0]);
  const ev = rowOf(mapRecord("events", rec(Buffer.from(JSON.stringify({ event_id: "e", entity: "card", entity_id: "c", event_time: 1_700_000_000_000, type: "t", fields: { a: [1] } }))), 7));
  assert.deepEqual([ev["event_id"], ev["event_time"], ev["fields_json"]], ["e", 1_700_000_000, '{"a":[1]}']);
  assert.equal((mapRecord("events", rec(Buffer.from("{}")), 7) as { rejected: { code: string } }).rejected.code, "MISSING_FIELD");
});

test("a DLQ record keeps its source from the headers; one without headers still gets a row", () => {
  const source: ConsumedRecord = { ...rec(Buffer.from("bad")), topic: "loopline.labels", partition: 2, offset: "77" };
  const letter = deadLetterRecord(source, { code: "X", detail: "why" }, "drift-monitor", Date.UTC(2026, 0, 2, 3, 4, 5));
  const headers = Object.fromEntries(Object.entries(letter.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
  const row = rowOf(mapRecord("dlq", { ...rec(Buffer.from("bad"), headers, "loopline.labels.dlq"), partition: 0, offset: "3" }, 7));
  assert.deepEqual(
    [row["source_topic"], row["source_partition"], row["source_offset"], row["time"], row["service"], row["reason"], row["detail"], row["dlq_partition"], row["dlq_offset"]],
    ["loopline.labels", 2, "77", Date.UTC(2026, 0, 2, 3, 4, 5) / 1000, "drift-monitor", "X", "why", 0, "3"],
  );
  const bare = rowOf(mapRecord("dlq", rec(Buffer.from("?"), {}, "loopline.drift.dlq"), 7));
  assert.deepEqual([bare["source_topic"], bare["reason"], bare["time"]], ["loopline.drift", "UNKNOWN", 1_700_000_000]);
  assert.notEqual(bare["dlq_partition"], SINK_DEAD_LETTER_PARTITION);
});

test("topics resolve under the prefix; an unknown one is a config error naming the variable", () => {
  assert.deepEqual(
    resolveSinkTopics("p.", ["predictions", "events.dlq", "models"]).map((t) => [t.topic, t.table, t.spec.partitions, t.spec.compacted ?? false]),
    [
      ["p.predictions", "predictions", 3, false],
      ["p.events.dlq", "dead_letters", 1, false],
      ["p.models", "model_events", 1, true],
    ],
  );
  assert.throws(() => loadClickHouseSinkConfig({ LOOPLINE_SINK_TOPICS: "predictions,clicks" }), (err: unknown) => err instanceof ConfigError && /LOOPLINE_SINK_TOPICS/.test(err.message) && /clicks/.test(err.message));
  assert.equal(loadClickHouseSinkConfig({}).topics.length, 11);
});
