import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { toFeatureValue } from "@loopline/proto";
import { PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { FeatureStatus, FeatureValueSchema } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { decodePredictionRow } from "./prediction-decoder.js";

const origin = { partition: 2, offset: "9007199254740993" };

test("a PredictionRecord encoded by protobuf-es becomes the predictions row it describes", () => {
  const bytes = toBinary(
    PredictionRecordSchema,
    create(PredictionRecordSchema, {
      requestId: "req-é",
      timeMs: 1_773_480_600_250n, // 2026-03-14 09:30:00.250 UTC
      model: "fraud",
      modelVersion: "7",
      route: Route.SHADOW,
      entityId: "card-1",
      featureRefs: ["v:a", "v:b", "v:c", "v:d", "v:e"],
      featureValues: [toFeatureValue(1.5), toFeatureValue("x"), toFeatureValue(false), toFeatureValue(null), create(FeatureValueSchema, { kind: { case: "integer", value: 12n } })],
      featureStatuses: [FeatureStatus.PRESENT, FeatureStatus.PRESENT, FeatureStatus.PRESENT, FeatureStatus.NULL_VALUE, FeatureStatus.NOT_FOUND],
      score: 0.25,
      decision: false,
      outputs: [{ name: "p", values: [0.75, 0.25] }],
      latencyUs: 4_000_000_000,
      degraded: false,
    }),
  );
  assert.deepEqual(decodePredictionRow(bytes, origin, 1_800_000_000), {
    request_id: "req-é",
    time: 1_773_480_600,
    time_ms: 1_773_480_600_250,
    model: "fraud",
    model_version: "7",
    route: "shadow",
    entity_id: "card-1",
    feature_refs: ["v:a", "v:b", "v:c", "v:d", "v:e"],
    feature_numbers: [1.5, "nan", 0, "nan", 12],
    feature_strings: ["", "x", "", "", ""],
    feature_statuses: [1, 1, 1, 2, 3],
    score: 0.25,
    decision: 0,
    output_names: ["p[0]", "p[1]"],
    output_values: [0.75, 0.25],
    latency_us: 4_000_000_000,
    degraded: 0,
    source_partition: 2,
    source_offset: "9007199254740993",
    ingested_at: 1_800_000_000,
  });
});

test("unpacked repeated fields and unknown fields are read as proto3 requires", () => {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string("r");
  w.tag(9, WireType.Varint).int32(1); // statuses unpacked
  w.tag(9, WireType.Varint).int32(4);
  w.tag(99, WireType.LengthDelimited).string("from a newer schema");
  w.tag(12, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("score").tag(2, WireType.Bit64).double(0.5).join(); // values unpacked
  w.tag(11, WireType.Varint).bool(true);
  const row = decodePredictionRow(w.finish(), origin, 0);
  assert.deepEqual([row["request_id"], row["feature_statuses"], row["output_names"], row["output_values"], row["decision"]], ["r", [1, 4], ["score"], [0.5], 1]);
});

test("truncated bytes are refused", () => {
  const bytes = toBinary(PredictionRecordSchema, create(PredictionRecordSchema, { requestId: "abcdef", model: "m" }));
  assert.throws(() => decodePredictionRow(bytes.subarray(0, bytes.length - 2), origin, 0));
  assert.throws(() => decodePredictionRow(new Uint8Array([0x0a, 0xff]), origin, 0));
});
