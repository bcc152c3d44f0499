import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { builtinRegistry, getFeatureView } from "@loopline/features";
import { toFeatureValue } from "@loopline/proto";
import { EventSchema } from "@loopline/proto/gen/loopline/v1/events_pb.js";
import { UsageError } from "./commands.js";
import { applyStore, collectEntityEvents, createRecordDecoder, parseReplayArgs, replayCommand, replayEntity } from "./replay-command.js";
import { replayJson, replayText, sameServed, summaryLine, type ReplayReport, type StoredCell } from "./replay-format.js";

const view = getFeatureView("card_txn");
const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const decode = createRecordDecoder({ views: builtinRegistry.views, maxEventBytes: 512, maxClockSkewMs: 5 * MIN });

interface Tx {
  id: string;
  card: string;
  t: number;
  amount?: unknown;
  country?: string;
  channel?: string;
}

function json({ id, card, t, amount, country = "FR", channel = "pos" }: Tx): string {
  return JSON.stringify({ event_id: id, entity: "card", entity_id: card, event_time: new Date(t).toISOString(), type: "transaction", fields: { amount, merchant_category: "5812", country, channel } });
}

/** A JSON record keyed by its card, produced one second after its event time. */
function record(tx: Tx) {
  return { key: Buffer.from(tx.card), value: Buffer.from(json(tx)), headers: {}, timestamp: tx.t + 1000 };
}

test("arguments: usage errors name what is wrong; valid ones parse", () => {
  const refused: [string[], RegExp][] = [
    [[], /^VIEW is required \(known views: card_txn\)$/],
    [["nope", "card-1"], /^unknown view "nope" \(known views: card_txn\)$/],
    [["card_txn"], /^at least one ENTITY_ID is required$/],
    [["card_txn", "card-1", "--bogus"], /^unknown flag --bogus$/],
    [["card_txn", "--compare", "card-1"], /^--compare takes no value \(entity ids go before the flags\)$/],
    [["card_txn", "card-1", "--json=yes"], /^--json takes no value/],
    [["card_txn", "card-1", "--at"], /^--at needs a value$/],
    [["card_txn", "card-1", "--at", "yesterday"], /^--at: "yesterday" is not RFC 3339/],
    [["card_txn", "card-1", "--at", "2026-02-30T00:00:00Z"], /^--at: .*not a valid calendar date/],
  ];
  for (const [args, message] of refused) {
    assert.throws(() => parseReplayArgs(args), (err: unknown) => err instanceof UsageError && message.test(err.message), args.join(" "));
  }
  const accepted: [string[], { entityIds: string[]; at: number | undefined; compare: boolean; json: boolean }][] = [
    [["card_txn", "card-1"], { entityIds: ["card-1"], at: undefined, compare: false, json: false }],
    [["card_txn", "b", "a", "b", "--at", "2026-11-22T10:15:00Z", "--compare", "--json"], { entityIds: ["b", "a"], at: Date.UTC(2026, 10, 22, 10, 15), compare: true, json: true }],
    [["card_txn", "a", "--at=1763806500000"], { entityIds: ["a"], at: 1_763_806_500_000, compare: false, json: false }],
    [["card_txn", "a", "--at", "2026-11-22T11:15:00.250+01:00"], { entityIds: ["a"], at: Date.UTC(2026, 10, 22, 10, 15, 0, 250), compare: false, json: false }],
  ];
  for (const [args, expected] of accepted) {
    const { view: v, ...rest } = parseReplayArgs(args);
    assert.equal(v.name, "card_txn");
    assert.deepEqual(rest, expected, args.join(" "));
  }
});

test("a usage error is one line plus the usage, exit code 2, before anything connects", async () => {
  let stderr = "";
  const code = await replayCommand.run(["nope", "card-1"], { out: () => undefined, err: (t) => void (stderr += t), env: {} });
  assert.equal(code, 2);
  assert.equal(stderr, 'loopline replay: unknown view "nope" (known views: card_txn)\nusage: loopline replay VIEW ENTITY_ID... [--at TIME] [--compare] [--json]\n');
});

test("records are decoded and validated as feature-ingest does, with the reason it dead-letters them", () => {
  const ok = { id: "e-1", card: "card-1", t: T0, amount: 12.5 };
  const protobuf = (fields: Record<string, number | string>) =>
    Buffer.from(
      toBinary(
        EventSchema,
        create(EventSchema, { eventId: "p-1", entity: "card", entityId: "card-1", eventTimeMs: BigInt(T0), type: "transaction", fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, toFeatureValue(v)])) }),
      ),
    );
  const pb = { "content-type": Buffer.from("application/x-protobuf; proto=loopline.v1.Event") };
  const cases: [string, { value: Buffer | null; headers: Record<string, Buffer>; timestamp: number }, string][] = [
    ["valid JSON", { value: Buffer.from(json(ok)), headers: {}, timestamp: T0 }, "event"],
    ["tombstone", { value: null, headers: {}, timestamp: T0 }, "MALFORMED_JSON"],
    ["not JSON", { value: Buffer.from("{nope"), headers: {}, timestamp: T0 }, "MALFORMED_JSON"],
    ["missing amount", { value: Buffer.from(json({ ...ok, amount: undefined })), headers: {}, timestamp: T0 }, "MISSING_FIELD"],
    ["amount as text", { value: Buffer.from(json({ ...ok, amount: "12" })), headers: {}, timestamp: T0 }, "INVALID_FIELD_TYPE"],
    ["over 512 bytes", { value: Buffer.from(json({ ...ok, country: "x".repeat(600) })), headers: {}, timestamp: T0 }, "OVERSIZE"],
    // 5 minutes of skew are allowed against the record's timestamp, not against today.
    ["6 min after its record", { value: Buffer.from(json(ok)), headers: {}, timestamp: T0 - 6 * MIN }, "FUTURE_EVENT_TIME"],
    ["4 min after its record", { value: Buffer.from(json(ok)), headers: {}, timestamp: T0 - 4 * MIN }, "event"],
    ["valid protobuf", { value: protobuf({ amount: 3, merchant_category: "5411", country: "US", channel: "ecom" }), headers: pb, timestamp: T0 }, "event"],
    ["protobuf without amount", { value: protobuf({ merchant_category: "5411", country: "US", channel: "ecom" }), headers: pb, timestamp: T0 }, "MISSING_FIELD"],
    ["garbage as protobuf", { value: Buffer.from([0x0a, 0xff]), headers: pb, timestamp: T0 }, "MALFORMED_PROTOBUF"],
  ];
  for (const [name, rec, expected] of cases) {
    const outcome = decode(rec);
    assert.equal(outcome.ok ? "event" : outcome.reason, expected, name);
  }
});

// card-1: 10 at T0, 20.5 at T0+10m (ecom, US), a redelivery of the second, an event without amount,
// 30 at T0+20m, then an event 6 minutes behind the watermark (past the 5 minutes of lateness).
const stream: Tx[] = [
  { id: "a1", card: "card-1", t: T0, amount: 10 },
  { id: "a2", card: "card-1", t: T0 + 10 * MIN, amount: 20.5, country: "US", channel: "ecom" },
  { id: "b1", card: "card-2", t: T0 + 5 * MIN, amount: 99 },
  { id: "a2", card: "card-1", t: T0 + 10 * MIN, amount: 20.5, country: "US", channel: "ecom" },
  { id: "a-bad", card: "card-1", t: T0 + 15 * MIN },
  { id: "a3", card: "card-1", t: T0 + 20 * MIN, amount: 30 },
  { id: "a-late", card: "card-1", t: T0 + 14 * MIN, amount: 1000 },
  { id: "c1", card: "card-3", t: T0, amount: 5 },
];

function replayed(at: number | undefined, now: number, ids = ["card-1", "card-2", "card-9"]) {
  const byEntity = collectEntityEvents(stream.map(record), view, ids, decode);
  return ids.map((id) => replayEntity(view, id, byEntity.get(id) ?? { events: [], invalid: new Map() }, at, now));
}

const valueOf = (e: { features: { name: string; value: unknown; status: string }[] }, name: string) => {
  const f = e.features.find((x) => x.name === name);
  return f === undefined ? undefined : [f.value, f.status];
};

test("replay serves hand-worked values, counting duplicates and refused events per entity", () => {
  const [one, two, none] = replayed(undefined, T0 + 21 * MIN);
  assert.ok(one && two && none);
  assert.deepEqual([one.accepted, one.duplicates, one.invalid], [3, 1, { MISSING_FIELD: 1, TOO_LATE: 1 }]);
  assert.equal(one.watermark, T0 + 20 * MIN);
  // Window (T0+20m−1h, T0+20m]: 10 + 20.5 + 30.
  const expected: [string, unknown, string][] = [
    ["txn_count_10m", 1, "PRESENT"], // (T0+10m, T0+20m]: only the 30; 20.5 sits on the edge, outside
    ["txn_count_1h", 3, "PRESENT"],
    ["amount_sum_1h", 60.5, "PRESENT"],
    ["amount_mean_1h", 60.5 / 3, "PRESENT"],
    ["amount_max_24h", 30, "PRESENT"],
    ["amount_min_24h", 10, "PRESENT"],
    ["ecom_count_1h", 1, "PRESENT"],
    ["countries_24h", 2, "PRESENT"],
    ["last_amount", 30, "PRESENT"],
    ["last_country", "FR", "PRESENT"],
  ];
  for (const [name, value, status] of expected) assert.deepEqual(valueOf(one, name), [value, status], name);
  assert.deepEqual(valueOf(two, "amount_sum_1h"), [99, "PRESENT"]);
  // Never seen: NOT_FOUND, default values.
  assert.deepEqual([none.watermark, none.accepted, valueOf(none, "txn_count_1h"), valueOf(none, "last_country")], [null, 0, [0, "NOT_FOUND"], [null, "NOT_FOUND"]]);
});

test("--at serves the newest version at or before it, with max-age statuses at that instant", () => {
  const cases: [string, number, [string, unknown, string][], number | null][] = [
    ["between the 2nd and 3rd event", T0 + 15 * MIN, [["txn_count_1h", 2, "PRESENT"], ["amount_sum_1h", 30.5, "PRESENT"], ["last_amount", 20.5, "PRESENT"]], T0 + 10 * MIN],
    // 10m after the watermark the 10m features are OUTSIDE_MAX_AGE (age ≥ max age) and served as their default.
    ["10 minutes after the last event", T0 + 30 * MIN, [["txn_count_10m", 0, "OUTSIDE_MAX_AGE"], ["txn_count_1h", 3, "PRESENT"]], T0 + 20 * MIN],
    ["2 hours after", T0 + 140 * MIN, [["amount_sum_1h", 0, "OUTSIDE_MAX_AGE"], ["amount_sum_24h", 60.5, "PRESENT"], ["last_country", "FR", "PRESENT"]], T0 + 20 * MIN],
    ["before the first event", T0 - 1, [["txn_count_7d", 0, "NOT_FOUND"]], null],
  ];
  for (const [name, at, expected, watermark] of cases) {
    const [one] = replayed(at, at + 999 * MIN, ["card-1"]);
    assert.ok(one);
    assert.equal(one.watermark, watermark, name);
    for (const [feature, value, status] of expected) assert.deepEqual(valueOf(one, feature), [value, status], `${name}: ${feature}`);
  }
});

test("the store agrees when value and status are the same; an expired key agrees with OUTSIDE_MAX_AGE", () => {
  const cases: [unknown, string, unknown, string, boolean][] = [
    [3, "PRESENT", 3, "PRESENT", true],
    [0.1 + 0.2, "PRESENT", 0.3, "PRESENT", false],
    [60.5 / 3, "PRESENT", 20.166666666666668, "PRESENT", true],
    ["FR", "PRESENT", "FR", "PRESENT", true],
    [null, "NULL_VALUE", null, "NULL_VALUE", true],
    [0, "PRESENT", 0, "NOT_FOUND", false],
    [0, "OUTSIDE_MAX_AGE", 0, "NOT_FOUND", true],
    [0, "NOT_FOUND", 0, "OUTSIDE_MAX_AGE", false],
    [0, "PRESENT", -0, "PRESENT", false],
  ];
  for (const [a, as, b, bs, equal] of cases) {
    assert.equal(sameServed({ value: a as number, status: as }, { value: b as number, status: bs }), equal, `${String(a)} ${as} / ${String(b)} ${bs}`);
  }
});

test("text and JSON output: per-entity tables, the compare summary naming what differs", () => {
  const [one] = replayed(undefined, T0 + 21 * MIN, ["card-1"]);
  assert.ok(one);
  const small = { ...one, features: one.features.filter((f) => f.name === "txn_count_1h" || f.name === "last_country") };
  const base: ReplayReport = { view: "card_txn", topic: "loopline.events", at: T0 + 21 * MIN, atGiven: false, recordsRead: 8, incompletePartitions: [], compared: false, entities: [small] };
  assert.equal(
    replayText(base),
    [
      "card_txn replayed from loopline.events at 2026-11-22T10:21:00.000Z (now): 8 records read up to the end offsets taken at start",
      "",
      "card-1  watermark 2026-11-22T10:20:00.000Z  accepted 3, duplicates 1, invalid: MISSING_FIELD 1, TOO_LATE 1",
      "FEATURE       VALUE  STATUS",
      "txn_count_1h  3      PRESENT",
      'last_country  "FR"   PRESENT',
    ].join("\n"),
  );
  const cell = (value: number | string, status = "PRESENT"): StoredCell => ({ value, status, watermark: T0 + 20 * MIN });
  const agree = applyStore(base, new Map([["card-1", new Map([["txn_count_1h", cell(3)], ["last_country", cell("FR")]])]]));
  assert.equal(summaryLine(agree), "compare: all 2 values equal (1 entities × 2 features)");
  const differ = applyStore(base, new Map([["card-1", new Map([["txn_count_1h", cell(4)], ["last_country", cell("FR")]])]]));
  assert.equal(summaryLine(differ), "compare: 1 equal, 1 DIFFERENT (1 entities × 2 features): card-1 txn_count_1h");
  assert.match(replayText(differ), /^txn_count_1h {2}3 {6}PRESENT {2}4 {6}PRESENT {7}DIFFERENT$/m);
  assert.deepEqual(JSON.parse(replayJson(differ)), {
    view: "card_txn",
    topic: "loopline.events",
    at: T0 + 21 * MIN,
    recordsRead: 8,
    incompletePartitions: [],
    entities: [
      {
        entityId: "card-1",
        watermark: T0 + 20 * MIN,
        accepted: 3,
        duplicates: 1,
        invalid: { MISSING_FIELD: 1, TOO_LATE: 1 },
        features: [
          { name: "txn_count_1h", value: 3, status: "PRESENT", store: { value: 4, status: "PRESENT", watermark: T0 + 20 * MIN }, equal: false },
          { name: "last_country", value: "FR", status: "PRESENT", store: { value: "FR", status: "PRESENT", watermark: T0 + 20 * MIN }, equal: true },
        ],
      },
    ],
    compare: { equal: 1, different: 1 },
  });
});
