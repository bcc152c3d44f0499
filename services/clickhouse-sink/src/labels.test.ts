import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { LabelSchema } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { deriveLabelId, parseLabel } from "./labels.js";

const RECORD_TS = 1_773_480_700_000;

test("derived label ids are sha256 of the subject (reference: printf ... | sha256sum)", () => {
  assert.equal(deriveLabelId("r1", "", 0), "f3a03ce6c092982dbee577f82f87af46");
  assert.equal(deriveLabelId("", "e2", 1_773_480_630_000), "0dfd44221b1632d8d014ec855ba481bf");
  assert.equal(deriveLabelId("r1", "e2", 5), deriveLabelId("r1", "", 0), "request_id wins over entity");
});

const utf8 = (s: string) => new TextEncoder().encode(s);
const PB = "application/x-protobuf";

test("the three forms give the same label, ids derived alike", () => {
  const pb = parseLabel(toBinary(LabelSchema, create(LabelSchema, { requestId: "r1", label: 1, labelTimeMs: 5n })), PB, RECORD_TS);
  const json = parseLabel(utf8(JSON.stringify({ request_id: "r1", label: true, label_time: 5 })), undefined, RECORD_TS);
  assert.deepEqual(pb, json);
  // Until 2026-12 the sink read a label without a content-type header as JSON, and dead-lettered this one.
  assert.deepEqual(parseLabel(toBinary(LabelSchema, create(LabelSchema, { requestId: "r1", label: 1, labelTimeMs: 5n })), undefined, RECORD_TS), pb);
  assert.deepEqual(parseLabel(utf8(JSON.stringify({ entity_id: "e2", event_time: "2026-03-14T09:30:30Z", label: 0 })), "application/json", RECORD_TS), {
    labelId: "0dfd44221b1632d8d014ec855ba481bf",
    requestId: "",
    entityId: "e2",
    eventTimeMs: 1_773_480_630_000,
    label: 0,
    labelTimeMs: RECORD_TS,
  });
  const given = parseLabel(toBinary(LabelSchema, create(LabelSchema, { labelId: "mine", entityId: "e", eventTimeMs: 9n, label: 1 })), PB, RECORD_TS);
  assert.deepEqual(given, { labelId: "mine", requestId: "", entityId: "e", eventTimeMs: 9, label: 1, labelTimeMs: RECORD_TS });
});

test("bad labels are refused with the decoder's reason", () => {
  const bad = parseLabel(utf8(JSON.stringify({ request_id: 3.5, label: 1, label_time: "yesterday" })), undefined, RECORD_TS);
  assert.ok("rejected" in bad);
  assert.equal(bad.rejected.code, "INVALID_FIELD");
  assert.match(bad.rejected.detail, /label_time/);
  // Until 2026-12 the sink stored this one while drift-monitor dead-lettered it and retrain-trigger read it as 1.
  const half = parseLabel(toBinary(LabelSchema, create(LabelSchema, { requestId: "r", label: 0.5 })), PB, RECORD_TS);
  assert.ok("rejected" in half && half.rejected.code === "INVALID_LABEL", JSON.stringify(half));
  const pb = parseLabel(new Uint8Array([0x0a, 0x05]), PB, RECORD_TS);
  assert.ok("rejected" in pb && pb.rejected.code === "MALFORMED_PROTOBUF");
});
