import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { LabelSchema } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { deriveLabelId, parseJsonLabel, parseProtobufLabel, parseTime } from "./labels.js";

const RECORD_TS = 1_773_480_700_000;

test("derived label ids are sha256 of the subject (reference: printf ... | sha256sum)", () => {
  assert.equal(deriveLabelId("r1", "", 0), "f3a03ce6c092982dbee577f82f87af46");
  assert.equal(deriveLabelId("", "e2", 1_773_480_630_000), "0dfd44221b1632d8d014ec855ba481bf");
  assert.equal(deriveLabelId("r1", "e2", 5), deriveLabelId("r1", "", 0), "request_id wins over entity");
});

test("the three forms give the same label, ids derived alike", () => {
  const pb = parseProtobufLabel(toBinary(LabelSchema, create(LabelSchema, { requestId: "r1", label: 1, labelTimeMs: 5n })), RECORD_TS);
  const json = parseJsonLabel(JSON.stringify({ request_id: "r1", label: true, label_time: 5 }), RECORD_TS);
  assert.deepEqual(pb, json);
  assert.deepEqual(parseJsonLabel(JSON.stringify({ entity_id: "e2", event_time: "2026-03-14T09:30:30Z", label: 0 }), RECORD_TS), {
    labelId: "0dfd44221b1632d8d014ec855ba481bf",
    requestId: "",
    entityId: "e2",
    eventTimeMs: 1_773_480_630_000,
    label: 0,
    labelTimeMs: RECORD_TS,
  });
  const given = parseProtobufLabel(toBinary(LabelSchema, create(LabelSchema, { labelId: "mine", entityId: "e", eventTimeMs: 9n, label: 0.5 })), RECORD_TS);
  assert.deepEqual(given, { labelId: "mine", requestId: "", entityId: "e", eventTimeMs: 9, label: 0.5, labelTimeMs: RECORD_TS });
});

test("bad labels are refused with the field at fault", () => {
  const cases: [string, string, RegExp][] = [
    ["{", "MALFORMED_JSON", /./],
    ["[1]", "MALFORMED_JSON", /object/],
    [JSON.stringify({ label: 1 }), "MISSING_FIELD", /request_id/],
    [JSON.stringify({ entity_id: "e", label: 1 }), "MISSING_FIELD", /event_time/],
    [JSON.stringify({ request_id: "r" }), "MISSING_FIELD", /label/],
    [JSON.stringify({ request_id: "r", label: "1" }), "INVALID_FIELD", /label/],
    [JSON.stringify({ request_id: 3.5, label: 1, label_time: "yesterday" }), "INVALID_FIELD", /label_time/],
    [JSON.stringify({ request_id: {}, label: 1 }), "INVALID_FIELD", /request_id/],
  ];
  for (const [text, code, detail] of cases) {
    const got = parseJsonLabel(text, RECORD_TS);
    assert.ok("rejected" in got, text);
    assert.equal(got.rejected.code, code, text);
    assert.match(got.rejected.detail, detail, text);
  }
  const pb = parseProtobufLabel(new Uint8Array([0x0a, 0x05]), RECORD_TS);
  assert.ok("rejected" in pb && pb.rejected.code === "MALFORMED_PROTOBUF");
});

test("times are epoch ms or RFC 3339 with a zone", () => {
  assert.equal(parseTime(1_700_000_000_000), 1_700_000_000_000);
  assert.equal(parseTime("1700000000000"), 1_700_000_000_000);
  assert.equal(parseTime("2023-11-14T22:13:20Z"), 1_700_000_000_000);
  assert.equal(parseTime("2023-11-14T23:13:20.5+01:00"), 1_700_000_000_500);
  for (const bad of ["2023-11-14", "14/11/2023", "", Number.POSITIVE_INFINITY, null, {}]) assert.ok(Number.isNaN(parseTime(bad)), String(bad));
});
