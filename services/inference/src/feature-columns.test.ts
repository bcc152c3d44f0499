import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { GetOnlineFeaturesRequestSchema, GetOnlineFeaturesResponseSchema, type GetOnlineFeaturesResponse } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { columnsOfResponse, decodeOnlineFeatures, encodeOnlineFeaturesRequest, FeatureDecodeError, featureValueAt, type FeatureColumnData } from "./feature-columns.js";

// The reference is protobuf-es's own decoder: whatever fromBinary makes of the bytes, the columns must say.
const plain = (columns: readonly FeatureColumnData[], rows: number) =>
  columns.map((c) => ({
    ref: c.ref,
    length: c.length,
    values: Array.from({ length: Math.min(rows, c.length) }, (_, r) => featureValueAt(c, r).kind),
    statuses: Array.from(c.statuses),
  }));
const reference = (response: GetOnlineFeaturesResponse, rows: number) =>
  response.columns.map((c) => ({
    ref: c.ref,
    length: c.values.length,
    // Unknown fields inside a value are not kept: the prediction log never wrote them.
    values: c.values.slice(0, rows).map((v) => v.kind),
    statuses: Array.from({ length: rows }, (_, r) => c.statuses[r] ?? FeatureStatus.UNSPECIFIED),
  }));

const rawColumn = (build: (w: BinaryWriter) => void): Uint8Array => {
  const column = new BinaryWriter();
  build(column);
  return new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(column.finish()).finish();
};

test("decodeOnlineFeatures reads what fromBinary reads (table)", () => {
  const cases: [string, Uint8Array, number][] = [
    ["empty response", new Uint8Array(0), 0],
    [
      "every kind, statuses, entity ids and event times",
      toBinary(
        GetOnlineFeaturesResponseSchema,
        create(GetOnlineFeaturesResponseSchema, {
          entityIds: ["a", "b", "c", "d", "e"],
          columns: [
            {
              ref: "txn:amount",
              values: [{ kind: { case: "number", value: -12.5 } }, { kind: { case: "number", value: 0 } }, {}, { kind: { case: "number", value: Number.NaN } }, { kind: { case: "number", value: 1e300 } }],
              statuses: [FeatureStatus.PRESENT, FeatureStatus.PRESENT, FeatureStatus.NOT_FOUND, FeatureStatus.PRESENT, FeatureStatus.OUTSIDE_MAX_AGE],
              eventTimeMs: [1n, 2n, 3n, 4n, 5n],
            },
            {
              ref: "card:country",
              values: [
                { kind: { case: "text", value: "fr" } },
                { kind: { case: "text", value: "Zürich 🚀" } },
                { kind: { case: "text", value: "" } },
                { kind: { case: "text", value: "x".repeat(300) } },
                { kind: { case: "flag", value: true } },
              ],
              statuses: [FeatureStatus.PRESENT, FeatureStatus.NULL_VALUE, -1 as FeatureStatus, 7 as FeatureStatus],
            },
            {
              ref: "n:int",
              values: [{ kind: { case: "integer", value: -(2n ** 63n) } }, { kind: { case: "integer", value: 2n ** 63n - 1n } }, { kind: { case: "integer", value: 0n } }, { kind: { case: "flag", value: false } }, { kind: { case: "integer", value: 300n } }],
            },
          ],
        }),
      ),
      5,
    ],
    [
      "statuses one by one, unknown fields, a oneof set twice (the last wins)",
      rawColumn((w) => {
        w.tag(1, WireType.LengthDelimited).string("v:a");
        w.tag(9, WireType.Varint).int32(5);
        w.tag(2, WireType.LengthDelimited).bytes(new BinaryWriter().tag(1, WireType.Bit64).double(1.5).tag(2, WireType.LengthDelimited).string("late").finish());
        w.tag(2, WireType.LengthDelimited).bytes(new BinaryWriter().tag(3, WireType.Varint).bool(true).tag(7, WireType.Bit32).fixed32(1).tag(1, WireType.Bit64).double(2.5).finish());
        w.tag(3, WireType.Varint).int32(FeatureStatus.PRESENT);
        w.tag(3, WireType.Varint).int32(FeatureStatus.NOT_FOUND);
      }),
      2,
    ],
    [
      "more values than rows asked for: counted, not kept",
      toBinary(GetOnlineFeaturesResponseSchema, create(GetOnlineFeaturesResponseSchema, { columns: [{ ref: "a", values: [{ kind: { case: "number", value: 1 } }, { kind: { case: "number", value: 2 } }, { kind: { case: "number", value: 3 } }], statuses: [1, 1, 1] }] })),
      2,
    ],
  ];
  for (const [name, bytes, rows] of cases) {
    const expected = reference(fromBinary(GetOnlineFeaturesResponseSchema, bytes), rows);
    assert.deepEqual(plain(decodeOnlineFeatures(bytes, rows), rows), expected, name);
    assert.deepEqual(plain(columnsOfResponse(fromBinary(GetOnlineFeaturesResponseSchema, bytes), rows), rows), expected, `${name} (from the message)`);
  }
});

test("decodeOnlineFeatures refuses bytes that are not a response", () => {
  const good = toBinary(GetOnlineFeaturesResponseSchema, create(GetOnlineFeaturesResponseSchema, { columns: [{ ref: "a", values: [{ kind: { case: "text", value: "fr" } }] }] }));
  for (const [name, bytes] of [
    ["truncated", good.subarray(0, good.length - 2)],
    ["a length past the end", Uint8Array.of(0x12, 0x05, 0x0a)],
    ["an unterminated varint", Uint8Array.of(0x08, 0xff, 0xff)],
    ["wire type 7", Uint8Array.of(0x0f)],
  ] as const) {
    assert.throws(() => decodeOnlineFeatures(bytes, 1), FeatureDecodeError, name);
  }
});

test("encodeOnlineFeaturesRequest writes the bytes toBinary writes (table)", () => {
  const cases: [string[], string[]][] = [
    [[], []],
    [["card-000001", "card-000002", "card-000001"], ["txn:amount", "card:country"]],
    [["", "é", "🚀-card", "x".repeat(200), "\uD800"], ["ref:ü"]],
  ];
  for (const [entityIds, features] of cases) {
    const expected = toBinary(GetOnlineFeaturesRequestSchema, create(GetOnlineFeaturesRequestSchema, { entityIds, features }));
    assert.deepEqual(encodeOnlineFeaturesRequest(entityIds, features), Buffer.from(expected), JSON.stringify(entityIds));
  }
});
