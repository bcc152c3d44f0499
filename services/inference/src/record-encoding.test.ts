import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { encodePredictionRecord } from "./record-encoding.js";

// The reference is protobuf-es's own reflective encoder: the fast one must produce the same bytes.
test("encodePredictionRecord writes the bytes toBinary writes (table)", () => {
  const cases = [
    create(PredictionRecordSchema, {}),
    create(PredictionRecordSchema, {
      requestId: "r-1/0",
      timeMs: 1_732_000_000_123n,
      model: "fraud",
      modelVersion: "12",
      route: Route.CANARY,
      entityId: "card-ü-42",
      featureRefs: ["txn:amount", "card:country", "card:is_new", "n:int", "n:null"],
      featureValues: [
        { kind: { case: "number", value: -12.5 } },
        { kind: { case: "text", value: "Zürich" } },
        { kind: { case: "flag", value: false } },
        { kind: { case: "integer", value: -(2n ** 40n) } },
        {},
      ],
      featureStatuses: [FeatureStatus.PRESENT, FeatureStatus.PRESENT, FeatureStatus.NOT_FOUND, FeatureStatus.OUTSIDE_MAX_AGE, FeatureStatus.NULL_VALUE],
      score: 0.731,
      decision: true,
      outputs: [{ name: "logit", values: [1] }, { name: "probability", values: [0.269, 0.731] }, { name: "", values: [] }],
      latencyUs: 4_000_000_000,
      degraded: true,
    }),
    create(PredictionRecordSchema, { score: -0, featureValues: [{ kind: { case: "number", value: 0 } }] }),
    create(PredictionRecordSchema, { featureRefs: ["x".repeat(300)], route: Route.SHADOW, featureStatuses: [-1 as FeatureStatus], timeMs: -5n }),
  ];
  for (const [i, record] of cases.entries()) {
    const fast = encodePredictionRecord(record);
    assert.deepEqual(Buffer.from(fast), Buffer.from(toBinary(PredictionRecordSchema, record)), `case ${i}`);
    assert.deepEqual(fromBinary(PredictionRecordSchema, fast), record, `case ${i} round trip`);
  }
});
