import assert from "node:assert/strict";
import { test } from "node:test";
import { cardTxnView, type Event } from "@loopline/features";
import { fromFeatureValue } from "@loopline/proto";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { trainingSetFromReplay } from "./replay-set.js";

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const txn = (id: string, card: string, minutes: number, amount: number, channel = "pos"): Event => ({
  eventId: id,
  entity: "card",
  entityId: card,
  eventTime: T0 + minutes * MIN,
  type: "transaction",
  fields: { amount, merchant_category: "5411", country: "FR", channel },
});

test("replayed training rows see only events at or before each label's instant, as the online store served them", () => {
  // c1: 10 at 0 min, 20 at 10 min, 5 (ecom) at 30 min, 100 at 120 min. c2: no events at all.
  const events = [txn("e4", "c1", 120, 100), txn("e1", "c1", 0, 10), txn("e3", "c1", 30, 5, "ecom"), txn("e2", "c1", 10, 20)];
  const set = trainingSetFromReplay(
    cardTxnView,
    events,
    [
      { id: "at40", entityId: "c1", atMs: T0 + 40 * MIN, label: 1 },
      { id: "at185", entityId: "c1", atMs: T0 + 185 * MIN, label: 0 },
      { id: "c2", entityId: "c2", atMs: T0 + 40 * MIN, label: 0 },
    ],
    ["txn_count_1h", "amount_sum_1h", "ecom_count_1h", "last_amount"],
    "replay card_txn",
  );
  assert.deepEqual(set.featureRefs, ["card_txn:txn_count_1h", "card_txn:amount_sum_1h", "card_txn:ecom_count_1h", "card_txn:last_amount"]);
  const values = set.examples.map((e) => e.values.map(fromFeatureValue));
  // At 40 min: three events in (−20 min, 40 min], sum 35, one ecom, last 5; the 120-min event must not leak in.
  assert.deepEqual(values[0], [3, 35, 1, 5]);
  // At 185 min the last event (120 min) is 65 min old: the 1 h features are past their max age and
  // served as their defaults; last_amount (7 d window) still holds 100.
  assert.deepEqual(values[1], [0, 0, 0, 100]);
  // An entity without events gets the declared defaults; last_amount has none (null → missing).
  assert.deepEqual(values[2], [0, 0, 0, null]);
  assert.equal(set.examples[2]?.statuses[3], FeatureStatus.NULL_VALUE);
  assert.deepEqual(set.examples.map((e) => e.label), [1, 0, 0]);
  assert.equal(set.query, "replay card_txn");
});
