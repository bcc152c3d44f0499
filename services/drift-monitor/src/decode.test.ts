import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { toFeatureValue } from "@loopline/proto";
import { LabelSchema, PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { decodeLabel, decodePrediction, isProblem } from "./decode.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

test("a PredictionRecord decodes with features as served; values not served count as missing", () => {
  const bytes = toBinary(
    PredictionRecordSchema,
    create(PredictionRecordSchema, {
      requestId: "q1",
      timeMs: 1_700_000_000_123n,
      model: "fraud",
      modelVersion: "3",
      route: Route.CANARY,
      entityId: "card-9",
      featureRefs: ["a:x", "a:y", "a:z", "a:w"],
      featureValues: [toFeatureValue(2.5), toFeatureValue("FR"), toFeatureValue(7), create(PredictionRecordSchema).featureValues[0] ?? toFeatureValue(null)],
      featureStatuses: [FeatureStatus.PRESENT, FeatureStatus.PRESENT, FeatureStatus.OUTSIDE_MAX_AGE, FeatureStatus.NOT_FOUND],
      score: 0.25,
    }),
  );
  const p = decodePrediction(bytes);
  assert.ok(!isProblem(p));
  assert.equal(p.timeMs, 1_700_000_000_123);
  assert.equal(p.route, Route.CANARY);
  assert.deepEqual([...p.features], [["a:x", 2.5], ["a:y", "FR"], ["a:z", null], ["a:w", null]]);
  assert.equal(p.score, 0.25);
});

test("bad prediction records are problems with a DLQ reason", () => {
  assert.equal((decodePrediction(utf8("not protobuf at all \u00ff")) as { code: string }).code, "MALFORMED_PREDICTION");
  const noModel = toBinary(PredictionRecordSchema, create(PredictionRecordSchema, { requestId: "q", score: 1 }));
  assert.equal((decodePrediction(noModel) as { code: string }).code, "MISSING_FIELD");
  const uneven = toBinary(PredictionRecordSchema, create(PredictionRecordSchema, { model: "m", modelVersion: "1", featureRefs: ["a:x", "a:y"], featureValues: [toFeatureValue(1)] }));
  assert.equal((decodePrediction(uneven) as { code: string }).code, "INVALID_FIELD");
});

test("labels decode from protobuf and from both JSON forms", () => {
  const pb = toBinary(LabelSchema, create(LabelSchema, { labelId: "l1", requestId: "q1", label: 1, labelTimeMs: 5n }));
  assert.deepEqual(decodeLabel(pb, "application/x-protobuf"), { requestId: "q1", entityId: "", eventTimeMs: 0, label: 1, labelTimeMs: 5 });
  assert.deepEqual(decodeLabel(pb, undefined), { requestId: "q1", entityId: "", eventTimeMs: 0, label: 1, labelTimeMs: 5 }, "protobuf without a header");
  assert.deepEqual(decodeLabel(utf8('{"request_id":"q2","label":false,"label_time":"2026-11-22T10:00:00Z"}'), undefined), {
    requestId: "q2",
    entityId: "",
    eventTimeMs: 0,
    label: 0,
    labelTimeMs: Date.UTC(2026, 10, 22, 10),
  });
  assert.deepEqual(decodeLabel(utf8(' {"entity_id":"card-1","event_time":1700000000000,"label":1}'), "application/json; charset=utf-8"), {
    requestId: "",
    entityId: "card-1",
    eventTimeMs: 1_700_000_000_000,
    label: 1,
    labelTimeMs: 0,
  });
});

test("bad labels are problems naming what is wrong", () => {
  const cases: [string, Uint8Array, string | undefined][] = [
    ["MALFORMED_JSON", utf8("{broken"), undefined],
    ["MALFORMED_JSON", utf8("[1]"), "application/json"],
    ["INVALID_LABEL", utf8('{"request_id":"q","label":0.7}'), undefined],
    ["INVALID_LABEL", toBinary(LabelSchema, create(LabelSchema, { requestId: "q", label: 2 })), undefined],
    ["MISSING_FIELD", utf8('{"label":1}'), undefined],
    ["MISSING_FIELD", utf8('{"entity_id":"c","label":1}'), undefined],
    ["INVALID_FIELD", utf8('{"entity_id":"c","event_time":"yesterday","label":1}'), undefined],
    ["INVALID_FIELD", utf8('{"request_id":"q","label":1,"label_time":"soon"}'), undefined],
    ["INVALID_FIELD", utf8('{"request_id":"q","label":"1"}'), undefined],
    ["MALFORMED_PROTOBUF", Uint8Array.from([0xff, 0xff, 0xff]), undefined],
  ];
  for (const [code, bytes, type] of cases) {
    const got = decodeLabel(bytes, type);
    assert.ok(isProblem(got), `${code}: ${JSON.stringify(got)}`);
    assert.equal(got.code, code);
  }
});
