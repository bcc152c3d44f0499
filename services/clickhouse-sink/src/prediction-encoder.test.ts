import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { encodeRowBinary, RowBinaryWriter } from "@loopline/kit";
import { toFeatureValue } from "@loopline/proto";
import { PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { FeatureStatus, FeatureValueSchema } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { decodePredictionRow } from "./prediction-decoder.js";
import { writePredictionRow } from "./prediction-encoder.js";
import { TABLE_COLUMNS } from "./table-columns.js";

// The fast path must write exactly the row the reference path (decodePredictionRow, pinned to
// protobuf-es by its own tests, then the kit's RowBinary encoder, pinned to ClickHouse by the kit's
// integration test) would, or decline and write nothing.

const columns = TABLE_COLUMNS["predictions"] ?? [];
const origin = { partition: 2, offset: "9007199254740993" };

function fast(bytes: Uint8Array): string | false {
  const w = new RowBinaryWriter(16);
  const ok = writePredictionRow(bytes, origin.partition, origin.offset, 1_800_000_000, w);
  const out = w.take();
  if (!ok) {
    assert.equal(out.length, 0, "a declined record writes nothing");
    return false;
  }
  return out.toString("hex");
}
const reference = (bytes: Uint8Array) => encodeRowBinary(columns, [decodePredictionRow(bytes, origin, 1_800_000_000)]).take().toString("hex");

const record = (fields: Parameters<typeof create<typeof PredictionRecordSchema>>[1]) => toBinary(PredictionRecordSchema, create(PredictionRecordSchema, fields));

const CASES: [string, Uint8Array][] = [
  [
    "every field, text/flag/null/integer values, a tensor output",
    record({
      requestId: "req-1",
      timeMs: 1_773_480_600_250n,
      model: "fraud",
      modelVersion: "7",
      route: Route.SHADOW,
      entityId: "card-1",
      featureRefs: ["v:a", "v:b", "v:c", "v:d", "v:e"],
      featureValues: [toFeatureValue(1.5), toFeatureValue("x"), toFeatureValue(false), toFeatureValue(null), create(FeatureValueSchema, { kind: { case: "integer", value: -12n } })],
      featureStatuses: [FeatureStatus.PRESENT, FeatureStatus.PRESENT, FeatureStatus.PRESENT, FeatureStatus.NULL_VALUE, FeatureStatus.NOT_FOUND],
      score: 0.25,
      outputs: [{ name: "p", values: [0.75, 0.25] }, { name: "one", values: [-0] }, { name: "none", values: [] }],
      latencyUs: 4_000_000_000,
      degraded: true,
    }),
  ],
  ["valid UTF-8 text, a BOM kept as text", record({ requestId: "req-é🚀", model: "modèle", entityId: "\uFEFFcard", featureRefs: ["v:ü"], featureValues: [toFeatureValue("naïve\ttab\n")] })],
  ["a tensor of 12 elements (two-digit suffixes), non-finite values", record({ requestId: "r", model: "m", score: Number.NaN, outputs: [{ name: "t", values: Array.from({ length: 12 }, (_, i) => (i === 3 ? Infinity : i / 7)) }], featureValues: [toFeatureValue(-Infinity)] })],
  ["times before 1970 and after 2106, an unknown route, out-of-range statuses", record({ requestId: "r", model: "m", timeMs: -5n, route: 9 as Route, featureStatuses: [7, 300, -1] as number[] as FeatureStatus[] })],
  ["a time past 2106", record({ requestId: "r", model: "m", timeMs: 5_000_000_000_000n })],
  ["long strings (two-byte lengths)", record({ requestId: "q".repeat(300), model: "m".repeat(128), featureRefs: ["r".repeat(1000)] })],
];

test("the fast path writes the bytes of decodePredictionRow + encodeRowBinary", () => {
  for (const [name, bytes] of CASES) assert.equal(fast(bytes), reference(bytes), name);
});

test("unpacked repeated fields, unknown fields and groups are read as proto3 requires", () => {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string("r");
  w.tag(3, WireType.LengthDelimited).string("m");
  w.tag(9, WireType.Varint).int32(1); // statuses unpacked
  w.tag(9, WireType.Varint).int32(4);
  w.tag(99, WireType.LengthDelimited).string("from a newer schema");
  w.tag(98, WireType.Bit32).fixed32(7);
  w.tag(97, WireType.StartGroup).tag(1, WireType.Varint).int32(5).tag(97, WireType.EndGroup);
  w.tag(12, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("score").tag(2, WireType.Bit64).double(0.5).tag(2, WireType.Bit64).double(0.25).join();
  w.tag(8, WireType.LengthDelimited).fork().tag(1, WireType.Bit64).double(3).tag(2, WireType.LengthDelimited).string("last wins").join();
  w.tag(11, WireType.Varint).bool(true);
  w.tag(1, WireType.LengthDelimited).string("r2"); // a repeated scalar field: the last one wins
  const bytes = w.finish();
  assert.equal(fast(bytes), reference(bytes));
});

test("it declines, writing nothing, what the reference path must decide: bad bytes, bad UTF-8, missing fields", () => {
  const good = record({ requestId: "abcdef", model: "m" });
  const badUtf8 = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(new Uint8Array([0x61, 0xff, 0x62])).tag(3, WireType.LengthDelimited).string("m").finish();
  const cases: [string, Uint8Array][] = [
    ["truncated", good.subarray(0, good.length - 2)],
    ["a length past the end", new Uint8Array([0x0a, 0xff])],
    ["a bad wire type", new Uint8Array([0x0f, 0x01])],
    ["invalid UTF-8 (the reference decoder replaces it)", badUtf8],
    ["no request_id", record({ model: "m" })],
    ["no model", record({ requestId: "r" })],
    ["empty", new Uint8Array(0)],
  ];
  for (const [name, bytes] of cases) assert.equal(fast(bytes), false, name);
  // The reference decoder replaces the bad byte and would store "a\uFFFDb".
  assert.equal(decodePredictionRow(badUtf8, origin, 0)["request_id"], "a\uFFFDb");
});

test("rows written one after another form one body", () => {
  const w = new RowBinaryWriter(16);
  for (const [, bytes] of CASES) assert.ok(writePredictionRow(bytes, origin.partition, origin.offset, 1_800_000_000, w));
  const rows = CASES.map(([, bytes]) => decodePredictionRow(bytes, origin, 1_800_000_000));
  assert.equal(w.take().toString("hex"), encodeRowBinary(columns, rows).take().toString("hex"));
});
