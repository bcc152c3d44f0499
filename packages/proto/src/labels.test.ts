import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { LabelSchema } from "./gen/loopline/v1/predictions_pb.js";
import { decodeLabel, isLabelProblem, parseRecordTime, type DecodedLabel } from "./labels.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
// `date -u -d @1700000000 +%FT%TZ` prints 2023-11-14T22:13:20Z.
const T = 1_700_000_000_000;

const ok = (got: DecodedLabel | { code: string; detail: string }): DecodedLabel => {
  assert.ok(!isLabelProblem(got), JSON.stringify(got));
  return got;
};

test("the three forms read alike, with or without a content-type header", () => {
  const byRequest: DecodedLabel = { labelId: "", requestId: "r1", entityId: "", eventTimeMs: 0, label: 1, labelTimeMs: T };
  const pb = toBinary(LabelSchema, create(LabelSchema, { requestId: "r1", label: 1, labelTimeMs: BigInt(T) }));
  assert.deepEqual(decodeLabel(pb, "application/x-protobuf"), byRequest);
  assert.deepEqual(decodeLabel(pb, "application/x-protobuf; proto=loopline.v1.Label"), byRequest);
  assert.deepEqual(decodeLabel(pb, undefined), byRequest, "protobuf without a header");
  assert.deepEqual(decodeLabel(utf8('{"request_id":"r1","label":true,"label_time":"2023-11-14T22:13:20Z"}'), undefined), byRequest);
  assert.deepEqual(decodeLabel(utf8(' \n{"request_id":"r1","label":1,"label_time":1700000000000}'), "application/json; charset=utf-8"), byRequest);
  assert.deepEqual(decodeLabel(utf8('{"entity_id":"card-1","event_time":"2023-11-14T23:13:20+01:00","label":0,"label_id":"mine"}'), undefined), {
    labelId: "mine",
    requestId: "",
    entityId: "card-1",
    eventTimeMs: T,
    label: 0,
    labelTimeMs: 0,
  });
  const byEntity = toBinary(LabelSchema, create(LabelSchema, { labelId: "l9", entityId: "card-1", eventTimeMs: BigInt(T), label: 1 }));
  assert.deepEqual(decodeLabel(byEntity, undefined), { labelId: "l9", requestId: "", entityId: "card-1", eventTimeMs: T, label: 1, labelTimeMs: 0 });
});

// Each of these was accepted by one of clickhouse-sink and drift-monitor and dead-lettered by the
// other while each had its own parser.
test("inputs the consumers once read differently have one reading", () => {
  assert.equal(ok(decodeLabel(utf8('{"entity_id":"c","event_time":"1700000000000","label":1}'), undefined)).eventTimeMs, T, "digits in a string");
  assert.equal(ok(decodeLabel(utf8('{"request_id":"r","event_time":null,"label":1,"label_time":null}'), undefined)).labelTimeMs, 0, "null is not given");
  assert.equal(ok(decodeLabel(utf8('{"request_id":42,"label":0}'), undefined)).requestId, "42", "an unquoted id");
  const zoneless = decodeLabel(utf8('{"entity_id":"c","event_time":"2023-11-14T22:13:20","label":1}'), undefined);
  assert.ok(isLabelProblem(zoneless) && zoneless.code === "INVALID_FIELD" && /event_time/.test(zoneless.detail), JSON.stringify(zoneless));
  const odd = decodeLabel(utf8('{"request_id":{"id":1},"label":1}'), undefined);
  assert.ok(isLabelProblem(odd) && odd.code === "INVALID_FIELD" && /request_id/.test(odd.detail), JSON.stringify(odd));
});

test("bad labels are problems naming what is wrong", () => {
  const cases: [string, RegExp, Uint8Array, string | undefined][] = [
    ["MALFORMED_JSON", /JSON/, utf8("{broken"), undefined],
    ["MALFORMED_JSON", /object/, utf8("[1]"), "application/json"],
    ["MISSING_FIELD", /request_id/, utf8('{"label":1}'), undefined],
    ["MISSING_FIELD", /event_time/, utf8('{"entity_id":"c","label":1}'), undefined],
    ["MISSING_FIELD", /label/, utf8('{"request_id":"r"}'), undefined],
    ["INVALID_FIELD", /label/, utf8('{"request_id":"r","label":"1"}'), undefined],
    ["INVALID_FIELD", /event_time/, utf8('{"entity_id":"c","event_time":"yesterday","label":1}'), undefined],
    ["INVALID_FIELD", /label_time/, utf8('{"request_id":"r","label":1,"label_time":"soon"}'), undefined],
    ["INVALID_LABEL", /0 or 1.*got NaN/, toBinary(LabelSchema, create(LabelSchema, { requestId: "r", label: Number.NaN })), "application/x-protobuf"],
    ["INVALID_LABEL", /0 or 1.*got 2/, toBinary(LabelSchema, create(LabelSchema, { requestId: "r", label: 2 })), undefined],
    ["INVALID_LABEL", /0 or 1.*got 0.7/, utf8('{"request_id":"r","label":0.7}'), undefined],
    ["MISSING_FIELD", /request_id/, toBinary(LabelSchema, create(LabelSchema, { label: 1 })), "application/x-protobuf"],
    ["MALFORMED_PROTOBUF", /not a loopline.v1.Label/, Uint8Array.from([0x0a, 0x05]), "application/x-protobuf"],
    ["MALFORMED_PROTOBUF", /neither a JSON object nor/, Uint8Array.from([0xff, 0xff, 0xff]), undefined],
  ];
  for (const [code, detail, bytes, type] of cases) {
    const got = decodeLabel(bytes, type);
    assert.ok(isLabelProblem(got), `${code}: ${JSON.stringify(got)}`);
    assert.equal(got.code, code, got.detail);
    assert.match(got.detail, detail);
  }
});

test("record times are epoch ms or RFC 3339 with a zone", () => {
  assert.equal(parseRecordTime(T), T);
  assert.equal(parseRecordTime("1700000000000"), T);
  assert.equal(parseRecordTime("2023-11-14T22:13:20Z"), T);
  assert.equal(parseRecordTime("2023-11-14T23:13:20.5+01:00"), T + 500);
  for (const bad of ["2023-11-14", "2023-11-14T22:13:20", "14/11/2023", "", Number.POSITIVE_INFINITY, null, {}]) assert.ok(Number.isNaN(parseRecordTime(bad)), String(bad));
});
