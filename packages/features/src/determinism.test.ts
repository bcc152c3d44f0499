// Stream vs replay on the fraud view: a seeded stream over many cards, delivered in canonical order,
// in a shuffled order (every event delayed by less than the allowed lateness), and with a
// snapshot/restore in the middle, must give strictly equal values — and agree with a brute-force
// reference computed independently from the event list.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createFeatureEngine } from "./engine.js";
import { compareEvents, type Event } from "./event.js";
import { isNewerUpdate, type FeatureUpdate } from "./feature-update.js";
import type { FeatureValue } from "./feature-view.js";
import { cardTxnView } from "./fraud.js";
import { replayEvents } from "./replay.js";

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T0 = Date.UTC(2024, 4, 1);
const LATENESS = cardTxnView.allowedLatenessMs;

function stream(seed: number, cards: number, count: number): Event[] {
  const random = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const events: Event[] = [];
  const lastTime = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    // ~9 days so the 7d windows fill and expire; half the events come in bursts within ±3 minutes of
    // the card's previous one, so arrival shuffling really reorders a card's events
    const entityId = `card-${Math.floor(random() * cards)}`;
    const previous = lastTime.get(entityId);
    const eventTime =
      previous !== undefined && random() < 0.5
        ? Math.max(T0, previous + Math.floor((random() - 0.5) * 360_000))
        : T0 + Math.floor(random() * 9 * 86_400_000);
    lastTime.set(entityId, eventTime);
    events.push({
      eventId: `e${i}`,
      entity: "card",
      entityId,
      eventTime,
      type: "transaction",
      fields: {
        amount: Math.round(random() * 1e6) / 100 + (random() < 0.1 ? 1e-7 : 0),
        merchant_category: pick(["5411", "5812", "5999", "4111"]),
        country: pick(["FR", "DE", "US", "GB", "ES"]),
        channel: pick(["pos", "ecom", "atm"]),
      },
    });
  }
  return events;
}

/** Arrival order: each event delayed by a random amount below the lateness, then 2% redelivered. */
function shuffled(events: readonly Event[], seed: number): Event[] {
  const random = mulberry32(seed);
  const arrivals = events.map((event) => ({ event, at: event.eventTime + Math.floor(random() * LATENESS) }));
  for (let i = 0; i < events.length; i += 50) {
    const event = events[i] as Event;
    arrivals.push({ event, at: event.eventTime + Math.floor(random() * LATENESS) });
  }
  return arrivals.sort((a, b) => a.at - b.at).map((a) => a.event);
}

/** What a point-in-time store ends with: per entity the update with the greatest (asOf, revision). */
function store(updates: readonly FeatureUpdate[]): Map<string, FeatureUpdate> {
  const kept = new Map<string, FeatureUpdate>();
  for (const u of updates) if (isNewerUpdate(u, kept.get(u.entityId))) kept.set(u.entityId, u);
  return kept;
}

function values(m: Map<string, FeatureUpdate>): Record<string, { asOf: number; revision: number; values: Record<string, FeatureValue> }> {
  const out: Record<string, { asOf: number; revision: number; values: Record<string, FeatureValue> }> = {};
  for (const [id, u] of [...m].sort(([a], [b]) => (a < b ? -1 : 1))) out[id] = { asOf: u.asOf, revision: u.revision, values: { ...u.values } };
  return out;
}

describe("stream vs replay (card_txn, 300 cards, 20,000 events)", () => {
  const events = stream(7, 300, 20_000);
  const canonical = [...events].sort(compareEvents);
  const replay = replayEvents(cardTxnView, canonical);
  const live = replayEvents(cardTxnView, shuffled(events, 11));

  it("accepts every event once in both orders", () => {
    assert.equal(replay.updates.length, 20_000);
    assert.equal(replay.rejections.length, 0);
    assert.equal(live.updates.length, 20_000);
    assert.ok(live.rejections.length > 0 && live.rejections.every((r) => r.code === "DUPLICATE"));
    // the shuffled stream really is out of order per card: many updates come from late events
    assert.ok(live.updates.filter((u) => u.eventTime < u.asOf).length > 1000);
  });

  it("the store ends with strictly equal values, asOf and revision for every card", () => {
    assert.deepEqual(values(store(live.updates)), values(store(replay.updates)));
  });

  it("the engines end in identical state", () => {
    assert.deepEqual(live.engine.snapshot([...replay.engine.entityIds()].sort()), replay.engine.snapshot([...replay.engine.entityIds()].sort()));
  });

  it("snapshot/restore midway equals the uninterrupted run", () => {
    const arrival = shuffled(events, 11);
    const half = Math.floor(arrival.length / 2);
    const before = createFeatureEngine({ view: cardTxnView });
    for (const e of arrival.slice(0, half)) before.ingest(e);
    const after = createFeatureEngine({ view: cardTxnView });
    after.restore(JSON.parse(JSON.stringify(before.snapshot())));
    const rest = arrival.slice(half).map((e) => after.ingest(e));
    const straight = createFeatureEngine({ view: cardTxnView });
    const all = arrival.map((e) => straight.ingest(e));
    assert.deepEqual(rest, all.slice(half));
  });

  it("matches a brute-force reference recomputed from the events", () => {
    const W7D = 7 * 86_400_000;
    const W1H = 3_600_000;
    const W24H = 86_400_000;
    for (const id of ["card-0", "card-17", "card-299"]) {
      const mine = canonical.filter((e) => e.entityId === id);
      const asOf = Math.max(...mine.map((e) => e.eventTime));
      const within = (w: number): Event[] => mine.filter((e) => e.eventTime > asOf - w && e.eventTime <= asOf);
      const amounts = (w: number): number[] => within(w).map((e) => e.fields["amount"] as number);
      const got = replay.engine.current(id)?.values ?? {};
      assert.equal(got["txn_count_7d"], within(W7D).length);
      assert.equal(got["txn_count_1h"], within(W1H).length);
      assert.equal(got["amount_max_24h"], amounts(W24H).length === 0 ? null : Math.max(...amounts(W24H)));
      assert.equal(got["countries_24h"], new Set(within(W24H).map((e) => e.fields["country"])).size);
      assert.equal(got["last_country"], mine.at(-1)?.fields["country"]);
      // naive summation differs only in the last bits: compare with a relative tolerance
      const a7 = amounts(W7D);
      const sum = a7.reduce((s, x) => s + x, 0);
      const mean = sum / a7.length;
      const sd = Math.sqrt(a7.reduce((s, x) => s + (x - mean) ** 2, 0) / a7.length);
      assert.ok(Math.abs((got["amount_sum_7d"] as number) - sum) <= 1e-9 * Math.abs(sum));
      assert.ok(Math.abs((got["amount_stddev_7d"] as number) - sd) <= 1e-9 * sd);
    }
  });
});
