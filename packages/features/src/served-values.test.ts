import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Event } from "./event.js";
import { isNewerUpdate } from "./feature-update.js";
import { defineFeatureView } from "./feature-view.js";
import { pointInTime } from "./replay.js";
import { servedValues } from "./served-values.js";

const T0 = Date.UTC(2024, 4, 1);
const MIN = 60_000;
const view = defineFeatureView({
  name: "s_view",
  entity: "card",
  sources: { transaction: { amount: "number", country: "string" } },
  features: [
    { name: "n_10m", aggregation: "count", window: "10m" },
    { name: "max_1h", aggregation: "max", field: "amount", window: "1h" },
    { name: "last_country", aggregation: "last", field: "country", window: "1h", maxAge: "7d" },
  ],
});

describe("isNewerUpdate", () => {
  const cases: Array<[number, number, number, number, boolean]> = [
    [2, 1, 1, 9, true], // later asOf wins whatever the revision
    [1, 5, 1, 4, true], // same asOf: higher revision (a late event) wins
    [1, 4, 1, 4, false], // the same update again changes nothing
    [1, 3, 1, 4, false],
    [0, 9, 1, 1, false],
  ];
  for (const [asOf, revision, storedAsOf, storedRevision, expected] of cases) {
    it(`(${asOf}, ${revision}) vs stored (${storedAsOf}, ${storedRevision}) → ${expected}`, () => {
      assert.equal(isNewerUpdate({ asOf, revision }, { asOf: storedAsOf, revision: storedRevision }), expected);
    });
  }
  it("anything replaces nothing", () => assert.equal(isNewerUpdate({ asOf: 0, revision: 1 }, undefined), true));
});

describe("servedValues", () => {
  const update = { asOf: T0, values: { n_10m: 3, max_1h: 50, last_country: "FR" } };
  it("serves stored values before maxAge and defaults from maxAge on", () => {
    // n_10m has maxAge 10m (its window): at T0 + 10m every counted event has left, so 0 is right.
    assert.deepEqual(servedValues(view, update, T0 + 10 * MIN - 1), {
      values: { n_10m: 3, max_1h: 50, last_country: "FR" },
      statuses: { n_10m: "PRESENT", max_1h: "PRESENT", last_country: "PRESENT" },
    });
    assert.deepEqual(servedValues(view, update, T0 + 10 * MIN), {
      values: { n_10m: 0, max_1h: 50, last_country: "FR" },
      statuses: { n_10m: "OUTSIDE_MAX_AGE", max_1h: "PRESENT", last_country: "PRESENT" },
    });
    assert.deepEqual(servedValues(view, update, T0 + 61 * MIN).values, { n_10m: 0, max_1h: null, last_country: "FR" });
  });
  it("NOT_FOUND with defaults when nothing is stored", () => {
    assert.deepEqual(servedValues(view, undefined, T0).statuses, { n_10m: "NOT_FOUND", max_1h: "NOT_FOUND", last_country: "NOT_FOUND" });
  });
});

describe("pointInTime", () => {
  const ev = (id: string, minute: number, amount: number): Event => ({
    eventId: id, entity: "card", entityId: "c1", eventTime: T0 + minute * MIN, type: "transaction", fields: { amount, country: "FR" },
  });
  // Given out of order on purpose: pointInTime sorts by (eventTime, eventId).
  const events = [ev("c", 30, 7), ev("a", 0, 10), ev("b", 5, 20)];
  const queries = [
    { entityId: "c1", at: T0 + 12 * MIN },
    { entityId: "c1", at: T0 - 1 },
    { entityId: "c1", at: T0 + 5 * MIN },
  ];
  it("served mode: as of the last event at or before each instant, max age applied, no future leakage", () => {
    assert.deepEqual(pointInTime(view, events, queries), [
      // the last event at or before 12m is b (5m); 12m - 5m = 7m is under n_10m's maxAge (10m), so the
      // stored values as of 5m are served: a and b in (−5m, 5m] → n_10m 2, max 20
      { entityId: "c1", at: T0 + 12 * MIN, asOf: T0 + 5 * MIN, values: { n_10m: 2, max_1h: 20, last_country: "FR" } },
      { entityId: "c1", at: T0 - 1, asOf: null, values: { n_10m: 0, max_1h: null, last_country: null } },
      { entityId: "c1", at: T0 + 5 * MIN, asOf: T0 + 5 * MIN, values: { n_10m: 2, max_1h: 20, last_country: "FR" } },
    ]);
  });
  it("exact mode: windows evaluated at the instant itself", () => {
    // at 12m the 10m window is (2m, 12m]: only b; the 1h window holds a and b
    assert.deepEqual(pointInTime(view, events, queries, { mode: "exact" })[0]?.values, { n_10m: 1, max_1h: 20, last_country: "FR" });
  });
});
