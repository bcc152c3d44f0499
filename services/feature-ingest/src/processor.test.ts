import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { builtinRegistry, createEventValidator } from "@loopline/features";
import type { ConsumedRecord } from "@loopline/kit";
import { toFeatureValue } from "@loopline/proto";
import { EventSchema } from "@loopline/proto/gen/loopline/v1/events_pb.js";
import { emptyPartitionState, processBatch } from "./processor.js";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const views = builtinRegistry.views;
const validator = createEventValidator({ views, maxEventBytes: 2048, maxClockSkew: 60_000, now: () => NOW });

let offset = 0;
function rec(value: string | Uint8Array | null, headers: Record<string, string> = {}): ConsumedRecord {
  return {
    topic: "loopline.events",
    partition: 0,
    offset: String(offset++),
    key: Buffer.from("c1"),
    value: value === null ? null : Buffer.from(value),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
    timestamp: NOW,
  };
}
const txn = (over: Record<string, unknown> = {}, fields: Record<string, unknown> = {}) =>
  JSON.stringify({
    event_id: `e${offset}`,
    entity: "card",
    entity_id: "c1",
    event_time: new Date(NOW - 1000).toISOString(),
    type: "transaction",
    fields: { amount: 10, merchant_category: "5411", country: "US", channel: "pos", ...fields },
    ...over,
  });

test("each class of bad input becomes a dead letter with its specific reason", () => {
  const cases: [string, ConsumedRecord, string, RegExp][] = [
    ["not JSON", rec("{nope"), "MALFORMED_JSON", /JSON/i],
    ["tombstone", rec(null), "MALFORMED_JSON", /no value/],
    ["oversize", rec(txn({}, { pad: "x".repeat(3000) })), "OVERSIZE", /2048/],
    ["unknown entity", rec(txn({ entity: "merchant" })), "UNKNOWN_ENTITY", /merchant/],
    ["unknown type", rec(txn({ type: "refund" })), "UNKNOWN_TYPE", /refund/],
    ["missing field", rec(txn({ fields: { merchant_category: "5411", country: "US", channel: "pos" } })), "MISSING_FIELD", /amount/],
    ["ill-typed field", rec(txn({}, { amount: "12" })), "INVALID_FIELD_TYPE", /amount/],
    ["unparseable time", rec(txn({ event_time: "yesterday" })), "BAD_EVENT_TIME", /event_time/],
    ["far-future time", rec(txn({ event_time: new Date(NOW + 3_600_000).toISOString() })), "FUTURE_EVENT_TIME", /event_time/],
    ["NaN", rec(txn().replace('"amount":10', '"amount":NaN')), "MALFORMED_JSON", /JSON/i],
    ["Infinity as a huge literal", rec(txn().replace('"amount":10', '"amount":1e999')), "NON_FINITE_NUMBER", /amount/],
    ["bad protobuf", rec(new Uint8Array([0xff, 0xff]), { "content-type": "application/x-protobuf" }), "MALFORMED_PROTOBUF", /loopline.v1.Event/],
  ];
  for (const [name, record, code, detail] of cases) {
    const out = processBatch([record], emptyPartitionState(0, views), views, validator);
    assert.equal(out.dead.length, 1, name);
    assert.equal(out.dead[0]?.reason.code, code, name);
    assert.match(out.dead[0]?.reason.detail ?? "", detail, name);
    assert.equal(out.updates.length, 0, name);
  }
});

test("a late event beyond the allowed lateness is dead-lettered; a redelivery is skipped silently", () => {
  const state = emptyPartitionState(0, views);
  const first = processBatch([rec(txn({ event_id: "a", event_time: NOW - 1000 }))], state, views, validator);
  assert.equal(first.updates.length, 1);
  const again = processBatch([rec(txn({ event_id: "a", event_time: NOW - 1000 }))], state, views, validator);
  assert.deepEqual([again.updates.length, again.dead.length, again.duplicates], [0, 0, 1]);
  // card_txn allows 5 minutes of lateness behind the card's watermark (NOW - 1s).
  const late = processBatch([rec(txn({ event_id: "b", event_time: NOW - 1000 - 6 * 60_000 }))], state, views, validator);
  assert.equal(late.dead[0]?.reason.code, "TOO_LATE");
});

test("JSON and protobuf events compute the same features; a bad record never stops the batch", () => {
  const pb = create(EventSchema, {
    eventId: "p1",
    entity: "card",
    entityId: "c1",
    eventTimeMs: BigInt(NOW - 500),
    type: "transaction",
    fields: { amount: toFeatureValue(32.5), merchant_category: toFeatureValue("5812"), country: toFeatureValue("FR"), channel: toFeatureValue("ecom") },
  });
  const state = emptyPartitionState(0, views);
  const out = processBatch(
    [
      rec(txn({ event_id: "j1", event_time: NOW - 1000 }, { amount: 10 })),
      rec("garbage"),
      rec(toBinary(EventSchema, pb), { "content-type": "application/x-protobuf" }),
    ],
    state,
    views,
    validator,
  );
  assert.equal(out.dead.length, 1);
  assert.equal(out.updates.length, 2);
  const last = out.updates[1];
  // Two transactions within 10 minutes: 10 + 32.5 = 42.5, one of them ecom, two countries.
  assert.equal(last?.values["txn_count_10m"], 2);
  assert.equal(last?.values["amount_sum_1h"], 42.5);
  assert.equal(last?.values["ecom_count_1h"], 1);
  assert.equal(last?.values["countries_24h"], 2);
  assert.equal(last?.values["last_country"], "FR");
  assert.equal(last?.asOf, NOW - 500);
  assert.deepEqual(out.accepted.get("card_txn")?.map((e) => e.entityId), ["c1", "c1"]);
});
