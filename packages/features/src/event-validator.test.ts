import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RejectionCode } from "./event-rejection.js";
import { createEventValidator } from "./event-validator.js";
import { cardTxnView } from "./fraud.js";

const NOW = Date.UTC(2024, 4, 1, 12); // 2024-05-01T12:00:00Z
const validator = createEventValidator({ views: [cardTxnView], now: () => NOW, maxEventBytes: 1024 });

const good = {
  event_id: "ev-1",
  entity: "card",
  entity_id: "card-42",
  event_time: "2024-05-01T11:59:00Z",
  type: "transaction",
  fields: { amount: 12.5, merchant_category: "5411", country: "FR", channel: "pos", unknown_extra: 1 },
};

function withFields(fields: Record<string, unknown>): string {
  return JSON.stringify({ ...good, fields: { ...good.fields, ...fields } });
}

describe("EventValidator.parse", () => {
  it("accepts a valid event and keeps only declared fields", () => {
    const r = validator.parse(Buffer.from(JSON.stringify(good)));
    assert.deepEqual(r, {
      ok: true,
      event: {
        eventId: "ev-1",
        entity: "card",
        entityId: "card-42",
        eventTime: NOW - 60_000,
        type: "transaction",
        fields: { amount: 12.5, merchant_category: "5411", country: "FR", channel: "pos" },
      },
    });
  });

  it("accepts epoch milliseconds, an absent optional field and normalises -0", () => {
    const r = validator.parse(JSON.stringify({ ...good, event_time: NOW, fields: { ...good.fields, card_id: null, amount: -0 } }));
    assert.ok(r.ok);
    assert.equal(r.event.eventTime, NOW);
    assert.equal(Object.hasOwn(r.event.fields, "card_id"), false);
    assert.ok(Object.is(r.event.fields["amount"], 0));
  });

  const cases: Array<{ name: string; raw: string | Uint8Array; code: RejectionCode; field?: string; message?: RegExp }> = [
    { name: "oversize", raw: withFields({ pad: "x".repeat(2000) }), code: "OVERSIZE", message: /more than the 1024 allowed/ },
    { name: "not JSON", raw: "{not json", code: "MALFORMED_JSON" },
    { name: "invalid UTF-8", raw: new Uint8Array([0x7b, 0xff, 0x7d]), code: "MALFORMED_JSON", message: /UTF-8/ },
    { name: "JSON array", raw: "[]", code: "MALFORMED_JSON" },
    { name: "missing event_id", raw: JSON.stringify({ ...good, event_id: undefined }), code: "MISSING_FIELD", field: "event_id" },
    { name: "numeric entity_id", raw: JSON.stringify({ ...good, entity_id: 42 }), code: "INVALID_FIELD_TYPE", field: "entity_id" },
    { name: "empty event_id", raw: JSON.stringify({ ...good, event_id: "" }), code: "INVALID_VALUE", field: "event_id" },
    { name: "fields not an object", raw: JSON.stringify({ ...good, fields: [1] }), code: "INVALID_FIELD_TYPE", field: "fields" },
    { name: "missing event_time", raw: JSON.stringify({ ...good, event_time: null }), code: "MISSING_FIELD", field: "event_time" },
    { name: "unknown entity", raw: JSON.stringify({ ...good, entity: "merchant" }), code: "UNKNOWN_ENTITY", field: "entity" },
    { name: "unknown type", raw: JSON.stringify({ ...good, type: "login" }), code: "UNKNOWN_TYPE", field: "type" },
    { name: "bad event_time", raw: JSON.stringify({ ...good, event_time: "yesterday" }), code: "BAD_EVENT_TIME", field: "event_time" },
    { name: "fractional epoch ms", raw: JSON.stringify({ ...good, event_time: 1.5 }), code: "BAD_EVENT_TIME", field: "event_time" },
    // default skew 5m: 12:05:00.001 is 1 ms too far ahead
    { name: "future event_time", raw: JSON.stringify({ ...good, event_time: NOW + 300_001 }), code: "FUTURE_EVENT_TIME", field: "event_time" },
    { name: "missing required field", raw: withFields({ amount: undefined }), code: "MISSING_FIELD", field: "fields.amount", message: /fields\.amount is required/ },
    { name: "null required field", raw: withFields({ country: null }), code: "MISSING_FIELD", field: "fields.country" },
    { name: "string amount", raw: withFields({ amount: "12.5" }), code: "INVALID_FIELD_TYPE", field: "fields.amount", message: /must be a number, got string/ },
    { name: "number country", raw: withFields({ country: 250 }), code: "INVALID_FIELD_TYPE", field: "fields.country" },
    { name: "optional field of the wrong type", raw: withFields({ card_id: 42 }), code: "INVALID_FIELD_TYPE", field: "fields.card_id" },
    // JSON.parse turns 1e999 into Infinity
    { name: "infinite amount", raw: `{"event_id":"e","entity":"card","entity_id":"c","event_time":0,"type":"transaction","fields":{"amount":1e999,"merchant_category":"1","country":"FR","channel":"pos"}}`, code: "NON_FINITE_NUMBER", field: "fields.amount" },
  ];
  for (const c of cases) {
    it(`${c.code}: ${c.name}`, () => {
      const r = validator.parse(c.raw);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.rejection.code, c.code);
      assert.equal(r.rejection.field, c.field);
      if (c.message !== undefined) assert.match(r.rejection.message, c.message);
      if (c.field !== undefined) assert.ok(r.rejection.message.includes(c.field.replace("fields.", "")), r.rejection.message);
    });
  }

  it("reports the event and entity ids it could read", () => {
    const r = validator.parse(withFields({ amount: "x" }));
    assert.ok(!r.ok);
    assert.equal(r.rejection.eventId, "ev-1");
    assert.equal(r.rejection.entityId, "card-42");
  });
});

describe("EventValidator.validate (structured input, e.g. from protobuf)", () => {
  it("accepts the same event as the JSON path", () => {
    const r = validator.validate({ eventId: "ev-1", entity: "card", entityId: "card-42", eventTime: NOW, type: "transaction", fields: good.fields });
    assert.ok(r.ok);
    assert.equal(r.event.fields["amount"], 12.5);
  });
  it("rejects NaN, which protobuf doubles can carry", () => {
    const r = validator.validate({ eventId: "e", entity: "card", entityId: "c", eventTime: NOW, type: "transaction", fields: { ...good.fields, amount: Number.NaN } });
    assert.equal(r.ok ? "ok" : r.rejection.code, "NON_FINITE_NUMBER");
  });
  it("maxClockSkew Infinity disables the future check (replay of trusted history)", () => {
    const replay = createEventValidator({ views: [cardTxnView], now: () => 0, maxClockSkew: Infinity });
    assert.ok(replay.validate({ eventId: "e", entity: "card", entityId: "c", eventTime: NOW, type: "transaction", fields: good.fields }).ok);
  });
});
