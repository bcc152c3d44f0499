import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createFeatureEngine, type EntitySnapshot, type FeatureEngine, type IngestResult } from "./engine.js";
import { FeatureError } from "./errors.js";
import type { Event } from "./event.js";
import type { FeatureUpdate } from "./feature-update.js";
import { defineFeatureView } from "./feature-view.js";

const T0 = Date.UTC(2024, 4, 1); // 2024-05-01T00:00:00Z
const MIN = 60_000;

const view = defineFeatureView({
  name: "t_view",
  entity: "card",
  allowedLateness: "5m",
  sources: { transaction: { amount: "number", country: "string", channel: { type: "string", optional: true } } },
  features: [
    { name: "n_10m", aggregation: "count", window: "10m" },
    { name: "sum_10m", aggregation: "sum", field: "amount", window: "10m" },
    { name: "mean_10m", aggregation: "mean", field: "amount", window: "10m" },
    { name: "min_10m", aggregation: "min", field: "amount", window: "10m" },
    { name: "max_10m", aggregation: "max", field: "amount", window: "10m" },
    { name: "sd_10m", aggregation: "stddev", field: "amount", window: "10m" },
    { name: "sd_sample_10m", aggregation: "stddev_sample", field: "amount", window: "10m" },
    { name: "countries_10m", aggregation: "distinct_count", field: "country", window: "10m" },
    { name: "last_country", aggregation: "last", field: "country", window: "10m" },
    { name: "ecom_10m", aggregation: "count", window: "10m", where: { channel: "ecom" } },
    { name: "ecom_mean_10m", aggregation: "mean", field: "amount", window: "10m", where: { channel: "ecom" }, default: -1 },
    { name: "n_1h", aggregation: "count", window: "1h" },
  ],
});

function ev(id: string, minute: number, amount: number, country: string, channel?: string): Event {
  return {
    eventId: id,
    entity: "card",
    entityId: "c1",
    eventTime: T0 + minute * MIN,
    type: "transaction",
    fields: channel === undefined ? { amount, country } : { amount, country, channel },
  };
}

function ok(result: IngestResult): FeatureUpdate {
  if (!result.ok) assert.fail(`rejected: ${result.rejection.code} ${result.rejection.message}`);
  return result.update;
}

function run(engine: FeatureEngine, events: readonly Event[]): FeatureUpdate[] {
  return events.map((e) => ok(engine.ingest(e)));
}

// Four events inside one 10m window: amounts 10, 20, 30, 40 at minutes 0..3.
const base = [ev("a", 0, 10, "FR"), ev("b", 1, 20, "DE"), ev("c", 2, 30, "FR", "ecom"), ev("d", 3, 40, "US")];

describe("engine aggregations (hand-worked)", () => {
  it("computes every aggregation over one window", () => {
    const engine = createFeatureEngine({ view });
    const last = run(engine, base).at(-1);
    assert.deepEqual(last?.values, {
      n_10m: 4,
      sum_10m: 100, // 10 + 20 + 30 + 40
      mean_10m: 25, // 100 / 4
      min_10m: 10,
      max_10m: 40,
      // deviations from 25: -15, -5, 5, 15; squares 225 + 25 + 25 + 225 = 500; population 500 / 4 = 125
      sd_10m: Math.sqrt(125),
      sd_sample_10m: Math.sqrt(500 / 3), // sample: 500 / (4 - 1)
      countries_10m: 3, // FR, DE, US
      last_country: "US",
      ecom_10m: 1,
      ecom_mean_10m: 30, // only event c is ecom
      n_1h: 4,
    });
    assert.equal(last?.asOf, T0 + 3 * MIN);
    assert.equal(last?.revision, 4);
    assert.equal(last?.eventId, "d");
  });

  it("uses declared and natural defaults when nothing contributes", () => {
    const engine = createFeatureEngine({ view });
    const update = ok(engine.ingest(ev("a", 0, 10, "FR")));
    assert.equal(update.values["ecom_10m"], 0); // count default
    assert.equal(update.values["ecom_mean_10m"], -1); // declared default
    assert.equal(update.values["sd_sample_10m"], null); // needs two values; natural default null
    assert.equal(update.values["sd_10m"], 0); // one value: population stddev 0
  });

  it("sums exactly: 0.1 + 0.2 + 0.3 is 0.6 in every order", () => {
    // Naive (0.1 + 0.2) + 0.3 is 0.6000000000000001; the exact sum of the three doubles rounds to 0.6.
    for (const order of [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1], [0.2, 0.3, 0.1]]) {
      const engine = createFeatureEngine({ view });
      const updates = run(engine, order.map((amount, i) => ev(`e${amount}`, i, amount, "FR")));
      assert.equal(updates.at(-1)?.values["sum_10m"], 0.6);
      // 0.6 is the double 0.59999999999999997780; / 3 = 0.19999999999999999260, nearer to the double
      // 0.19999999999999998335 (9.3e-18 away) than to 0.2 = 0.20000000000000001110 (1.9e-17 away).
      assert.equal(updates.at(-1)?.values["mean_10m"], 0.19999999999999998);
    }
  });
});

describe("engine windows", () => {
  it("windows are (asOf - w, asOf]: an event exactly w old has left", () => {
    const engine = createFeatureEngine({ view });
    run(engine, base);
    // asOf 12m: the 10m window is (2m, 12m], so a (0m), b (1m) and c (2m, on the edge) have left.
    const u = ok(engine.ingest(ev("e", 12, 5, "FR")));
    assert.equal(u.values["n_10m"], 2); // d (3m) and e (12m)
    assert.equal(u.values["sum_10m"], 45); // 40 + 5
    assert.equal(u.values["mean_10m"], 22.5);
    assert.equal(u.values["min_10m"], 5);
    assert.equal(u.values["max_10m"], 40);
    assert.equal(u.values["sd_10m"], 17.5); // deviations ±17.5 from 22.5; (306.25 + 306.25) / 2 = 306.25 = 17.5²
    assert.equal(u.values["countries_10m"], 2); // US, FR
    assert.equal(u.values["ecom_10m"], 0); // c expired
    assert.equal(u.values["ecom_mean_10m"], -1);
    assert.equal(u.values["n_1h"], 5);
  });

  it("recomputes min and max when the extreme expires", () => {
    const engine = createFeatureEngine({ view });
    run(engine, [...base, ev("e", 12, 5, "FR")]);
    // asOf 13m: window (3m, 13m]; d (40, at 3m) leaves, so max falls to 5; min is the new 1.
    const u = ok(engine.ingest(ev("f", 13, 1, "FR")));
    assert.equal(u.values["max_10m"], 5);
    assert.equal(u.values["min_10m"], 1);
    assert.equal(u.values["last_country"], "FR");
  });

  it("last breaks time ties by event id", () => {
    const engine = createFeatureEngine({ view });
    ok(engine.ingest(ev("z", 1, 1, "ZZ")));
    const u = ok(engine.ingest(ev("m", 1, 1, "MM")));
    assert.equal(u.values["last_country"], "ZZ"); // (1m, "z") sorts after (1m, "m")
  });

  it("valuesAt evaluates windows at any instant from the watermark on", () => {
    const engine = createFeatureEngine({ view });
    run(engine, base);
    // at 11m the 10m window is (1m, 11m]: c (30) and d (40).
    const v = engine.valuesAt("c1", T0 + 11 * MIN);
    assert.equal(v["n_10m"], 2);
    assert.equal(v["sum_10m"], 70);
    assert.equal(v["n_1h"], 4);
    assert.equal(engine.valuesAt("c1", T0 + 20 * MIN)["n_10m"], 0);
    assert.equal(engine.valuesAt("unknown", T0)["ecom_mean_10m"], -1);
    // retention = max(1h, 5m) = longest window, so nothing before the watermark (3m) can be answered.
    assert.throws(() => engine.valuesAt("c1", T0 + 2 * MIN), (err: unknown) => err instanceof FeatureError && err.code === "AS_OF_OUT_OF_RANGE");
  });
});

describe("engine late, out-of-order and duplicate events", () => {
  it("a late event within lateness counts, keeps asOf and raises the revision", () => {
    const engine = createFeatureEngine({ view });
    run(engine, [...base, ev("e", 12, 5, "FR")]);
    const u = ok(engine.ingest(ev("late", 9, 7, "DE"))); // 12m - 9m = 3m ≤ 5m
    assert.equal(u.asOf, T0 + 12 * MIN);
    assert.equal(u.revision, 6);
    assert.equal(u.eventTime, T0 + 9 * MIN);
    assert.equal(u.values["n_10m"], 3); // d, late, e
    assert.equal(u.values["sum_10m"], 52); // 40 + 7 + 5
    assert.equal(u.values["last_country"], "FR"); // e (12m) is still the latest
  });

  it("TOO_LATE exactly beyond the allowed lateness", () => {
    const engine = createFeatureEngine({ view });
    run(engine, [ev("a", 12, 1, "FR")]);
    assert.equal(engine.ingest(ev("edge", 7, 1, "FR")).ok, true); // 12m - 7m = 5m: still allowed
    const r = engine.ingest({ ...ev("old", 7, 1, "FR"), eventTime: T0 + 7 * MIN - 1 }); // 1 ms beyond
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.rejection.code, "TOO_LATE");
      assert.equal(r.rejection.field, "event_time");
      assert.match(r.rejection.message, /allowed lateness is 5m/);
    }
  });

  it("an event outside a window but within lateness still counts in the longer windows", () => {
    const engine = createFeatureEngine({ view: defineFeatureView({ ...view.definition, name: "t_view_late", allowedLateness: "30m" }) });
    run(engine, [ev("a", 20, 1, "FR")]);
    const u = ok(engine.ingest(ev("b", 5, 2, "FR"))); // 15m late: outside (10m, 20m], inside 1h
    assert.equal(u.values["n_10m"], 1);
    assert.equal(u.values["n_1h"], 2);
  });

  it("DUPLICATE by event_id, whatever the content, and the state is unchanged", () => {
    const engine = createFeatureEngine({ view });
    run(engine, base);
    for (const dup of [base[1] as Event, ev("b", 3, 999, "XX")]) {
      const r = engine.ingest(dup);
      assert.equal(r.ok ? "ok" : r.rejection.code, "DUPLICATE");
    }
    assert.equal(engine.current("c1")?.revision, 4);
    assert.equal(engine.current("c1")?.values["sum_10m"], 100);
  });

  it("gives the same final update for every arrival order of the same events", () => {
    const events = [...base, ev("e", 6, 5, "GB", "ecom")];
    const permutations = (xs: Event[]): Event[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
    const finals = permutations(events).map((order) => {
      const engine = createFeatureEngine({ view });
      for (const e of order) engine.ingest(e);
      return engine.current("c1");
    });
    // 120 orders; the spread is 6m > 5m, so orders that put "a" (0m) after "e" (6m) reject it: filter those.
    const accepted = finals.filter((u) => u?.revision === 5);
    assert.ok(accepted.length > 0);
    for (const u of accepted) assert.deepEqual({ ...u, eventId: "", eventTime: 0 }, { ...accepted[0], eventId: "", eventTime: 0 });
  });

  it("refuses events of another entity or type", () => {
    const engine = createFeatureEngine({ view });
    const codes = [
      engine.ingest({ ...ev("x", 0, 1, "FR"), entity: "merchant" }),
      engine.ingest({ ...ev("y", 0, 1, "FR"), type: "login" }),
    ].map((r) => (r.ok ? "ok" : r.rejection.code));
    assert.deepEqual(codes, ["UNKNOWN_ENTITY", "UNKNOWN_TYPE"]);
  });
});

describe("engine state", () => {
  it("keeps only events within the retention (bounded memory)", () => {
    const engine = createFeatureEngine({ view });
    // one event a minute for 3 hours; retention is 1h, so at most the events in [W - 1h, W] remain
    run(engine, Array.from({ length: 180 }, (_, i) => ev(`e${i}`, i, 1, "FR")));
    const snap = engine.snapshot();
    assert.equal(snap.entities[0]?.entries.length, 61); // minutes 119..179 (W = 179m, cutoff 119m inclusive)
    assert.equal(snap.entities[0]?.revision, 180);
  });

  it("snapshot/restore through JSON continues exactly like an uninterrupted run", () => {
    const events = [...base, ev("e", 12, 5, "FR"), ev("late", 9, 7, "DE"), ev("f", 13, 1, "FR", "ecom"), ev("g", 30, 3, "US")];
    const straight = createFeatureEngine({ view });
    const expected = run(straight, events);

    const first = createFeatureEngine({ view });
    run(first, events.slice(0, 5));
    const restored = createFeatureEngine({ view });
    restored.restore(JSON.parse(JSON.stringify(first.snapshot())));
    assert.deepEqual(restored.current("c1"), first.current("c1"));
    // a redelivered event from before the snapshot is not counted twice
    const again = restored.ingest(events[4] as Event);
    assert.equal(again.ok ? "ok" : again.rejection.code, "DUPLICATE");
    assert.deepEqual(run(restored, events.slice(5)), expected.slice(5));
    assert.deepEqual(restored.snapshot(), straight.snapshot());
  });

  it("snapshotJson is the JSON of the entity's snapshot, before and after a restore and a late event", () => {
    const events = [...base, ev("e", 12, 5, "FR"), ev("late", 9, 7, "DE"), ev("f", 13, 1, "FR", "ecom")];
    const engine = createFeatureEngine({ view });
    run(engine, events.slice(0, 4));
    const json = (e: FeatureEngine) => JSON.stringify(e.snapshot(["c1"]).entities[0]);
    assert.equal(engine.snapshotJson("c1"), json(engine));
    run(engine, events.slice(4)); // entries already serialised are reused, the late one lands mid-list
    assert.equal(engine.snapshotJson("c1"), json(engine));
    const restored = createFeatureEngine({ view });
    restored.restore({ ...engine.snapshot(), entities: [JSON.parse(engine.snapshotJson("c1") as string) as EntitySnapshot] });
    assert.equal(restored.snapshotJson("c1"), json(engine));
    assert.equal(restored.snapshotJson("nobody"), undefined);
  });

  it("refuses a snapshot of another view definition or a corrupt one, changing nothing", () => {
    const engine = createFeatureEngine({ view });
    run(engine, base);
    const snap = engine.snapshot();
    const other = createFeatureEngine({ view: defineFeatureView({ ...view.definition, allowedLateness: "6m" }) });
    assert.throws(() => other.restore(snap), (err: unknown) => err instanceof FeatureError && err.code === "SNAPSHOT_VIEW_MISMATCH");
    const fresh = createFeatureEngine({ view });
    const corrupt = [
      { ...snap, entities: [{ ...snap.entities[0], entries: [[T0, "a", 0, 1]] }] }, // wrong number of values
      { ...snap, entities: [{ ...snap.entities[0], entries: [...(snap.entities[0]?.entries ?? [])].reverse() }] }, // out of order
      { ...snap, entities: [{ ...snap.entities[0], watermark: T0 }] }, // entries after the watermark
    ];
    for (const bad of corrupt) {
      assert.throws(() => fresh.restore(bad as never), (err: unknown) => err instanceof FeatureError && err.code === "INVALID_SNAPSHOT");
    }
    assert.equal(fresh.entityCount, 0);
  });

  it("evictIdle forgets entities whose watermark is older than the cutoff", () => {
    const engine = createFeatureEngine({ view });
    run(engine, [ev("a", 0, 1, "FR"), { ...ev("b", 30, 1, "FR"), entityId: "c2" }]);
    assert.equal(engine.evictIdle(T0 + 10 * MIN), 1);
    assert.deepEqual([...engine.entityIds()], ["c2"]);
  });

  it("evictIdle keeps the entities it is told to keep, idle or not", () => {
    const engine = createFeatureEngine({ view });
    run(engine, [ev("a", 0, 1, "FR"), { ...ev("b", 1, 1, "FR"), entityId: "c2" }, { ...ev("c", 30, 1, "FR"), entityId: "c3" }]);
    assert.equal(engine.evictIdle(T0 + 10 * MIN, new Set(["c2"])), 1);
    assert.deepEqual([...engine.entityIds()].sort(), ["c2", "c3"]);
  });
});
