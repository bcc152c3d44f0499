import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { GetOnlineFeaturesResponseSchema } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { FeatureStatus, FeatureValueSchema } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { decodeOnlineFeatures } from "./feature-columns.js";
import { BatchedRecord, type RecordBatch } from "./record-batch.js";
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

test("a batched record encodes from its batch to the bytes of the message it stands for", () => {
  // Two entities; inputs: a store number, a store text, a request-time flag, a store feature with no value, nothing at all (degraded).
  const store = decodeOnlineFeatures(
    toBinary(
      GetOnlineFeaturesResponseSchema,
      create(GetOnlineFeaturesResponseSchema, {
        columns: [
          { ref: "txn:amount", values: [{ kind: { case: "number", value: 7.25 } }, { kind: { case: "number", value: -0 } }], statuses: [FeatureStatus.PRESENT, FeatureStatus.PRESENT] },
          { ref: "card:country", values: [{ kind: { case: "text", value: "fr" } }, { kind: { case: "text", value: "ü".repeat(50) } }], statuses: [FeatureStatus.PRESENT, FeatureStatus.PRESENT] },
          { ref: "n:int", values: [{}, { kind: { case: "integer", value: -3n } }], statuses: [FeatureStatus.NOT_FOUND] },
        ],
      }),
    ),
    2,
  );
  const batch: RecordBatch = {
    timeMs: 1_732_000_000_123n,
    model: "fraud",
    modelVersion: "3",
    route: Route.CANARY,
    featureRefs: ["txn:amount", "card:country", "is_new", "n:int", "gone"],
    sources: [store[0], store[1], create(FeatureValueSchema, { kind: { case: "flag", value: true } }), store[2], undefined],
    fromStore: [true, true, false, true, false],
    rows: [1, 0], // entity 0 is the store's row 1
    statuses: [1, 1, 1, 3, 3, 1, 1, 1, -1 as FeatureStatus, 3],
    scores: Float64Array.of(0.25, 0),
    decisions: [false, true],
    count: 2,
    outputs: [
      { type: "float32", data: Float32Array.of(0.75, 0.25, 0.5, 0.5), dims: [2, 2] },
      { type: "bool", data: Uint8Array.of(1, 0), dims: [2] },
      { type: "int64", data: BigInt64Array.of(-1n, 2n), dims: [2, 1] },
    ],
    outputNames: ["probability", "flagged", "label"],
    latencyUs: 1234,
    degraded: true,
  };
  const expected = [
    create(PredictionRecordSchema, {
      requestId: "batch/0",
      timeMs: 1_732_000_000_123n,
      model: "fraud",
      modelVersion: "3",
      route: Route.CANARY,
      entityId: "card-1",
      featureRefs: batch.featureRefs,
      featureValues: [{ kind: { case: "number", value: -0 } }, { kind: { case: "text", value: "ü".repeat(50) } }, { kind: { case: "flag", value: true } }, { kind: { case: "integer", value: -3n } }, {}],
      featureStatuses: [1, 1, 1, 3, 3],
      score: 0.25,
      decision: false,
      outputs: [{ name: "probability", values: [0.75, 0.25] }, { name: "label", values: [-1] }],
      latencyUs: 1234,
      degraded: true,
    }),
    create(PredictionRecordSchema, {
      requestId: "batch/1",
      timeMs: 1_732_000_000_123n,
      model: "fraud",
      modelVersion: "3",
      route: Route.CANARY,
      entityId: "card-2",
      featureRefs: batch.featureRefs,
      featureValues: [{ kind: { case: "number", value: 7.25 } }, { kind: { case: "text", value: "fr" } }, { kind: { case: "flag", value: true } }, {}, {}],
      featureStatuses: [1, 1, 1, -1 as FeatureStatus, 3],
      score: 0,
      decision: true,
      outputs: [{ name: "probability", values: [0.5, 0.5] }, { name: "label", values: [2] }],
      latencyUs: 1234,
      degraded: true,
    }),
  ];
  for (const [j, want] of expected.entries()) {
    const fast = encodePredictionRecord(new BatchedRecord(batch, j, `batch/${j}`, `card-${j + 1}`));
    assert.deepEqual(Buffer.from(fast), Buffer.from(toBinary(PredictionRecordSchema, want)), `record ${j}`);
    // Read field by field, it is the same message; encoded after reading, the same bytes again.
    const read = new BatchedRecord(batch, j, `batch/${j}`, `card-${j + 1}`);
    assert.deepEqual(create(PredictionRecordSchema, { ...want }), create(PredictionRecordSchema, { ...want, featureValues: read.featureValues, featureStatuses: read.featureStatuses, outputs: read.outputs }));
    assert.deepEqual(Buffer.from(encodePredictionRecord(read)), Buffer.from(fast), `record ${j} once read`);
    assert.deepEqual(fromBinary(PredictionRecordSchema, toBinary(PredictionRecordSchema, read)), want, `record ${j} through protobuf-es`);
  }
});

test("encoded records stay intact while later ones are written, across slabs and past a slab's size", () => {
  const records = Array.from({ length: 3000 }, (_, i) =>
    create(PredictionRecordSchema, {
      requestId: `r-${i}`,
      entityId: `e-${i}`,
      score: i / 7,
      outputs: [{ name: "p", values: Array.from({ length: i % 1000 === 999 ? 10_000 : i % 5 }, (_, k) => k * i) }],
    }),
  );
  const encoded = records.map((r) => encodePredictionRecord(r));
  for (const [i, r] of records.entries()) assert.deepEqual(Buffer.from(encoded[i] ?? []), Buffer.from(toBinary(PredictionRecordSchema, r)), `record ${i}`);
});
