import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "./commands.js";
import { parseFeaturesArgs } from "./features-command.js";

test("features asks for a view's features, a feature set or refs, once each entity", () => {
  const byView = parseFeaturesArgs(["card-1", "card-2", "card-1", "--view", "card_txn"]);
  assert.deepEqual(byView.request.entityIds, ["card-1", "card-2"]);
  assert.equal(byView.request.entity, "card");
  assert.equal(byView.request.features?.length, 24, "card_txn per packages/features README: 4 aggregations × 4 windows, min, stddev, ecom count, 2 distinct counts, 3 last values");
  assert.equal(byView.request.features?.[0], "card_txn:txn_count_10m");
  assert.deepEqual(parseFeaturesArgs(["c", "--set", "fraud_v1"]).request, { entityIds: ["c"], featureSet: "fraud_v1" });
  const refs = parseFeaturesArgs(["c", "--features", "card_txn:last_country, other:x", "--as-of", "2026-12-06T21:00:00Z", "--json"]);
  assert.deepEqual(refs.request.features, ["card_txn:last_country", "other:x"], "refs the CLI does not know go to the store, which judges them");
  assert.equal(refs.asOf, Date.UTC(2026, 11, 6, 21));
  assert.equal(refs.json, true);
});

test("features refuses what it cannot send, saying why", () => {
  const cases: [string[], RegExp][] = [
    [["--view", "card_txn"], /ENTITY_ID/],
    [["c"], /exactly one of --view/],
    [["c", "--view", "card_txn", "--set", "fraud_v1"], /exactly one of --view/],
    [["c", "--view", "cards"], /unknown view "cards" \(known views: card_txn\)/],
    [["c", "--features", "txn_count_1h"], /VIEW:FEATURE/],
    [["c", "--set", "fraud_v1", "--as-of", "yesterday"], /^--as-of: /],
    [["c", "--set", "fraud_v1", "--json", "d"], /entity ids go before the flags/],
    [["c", "--set", "fraud_v1", "--at", "1"], /--at/],
  ];
  for (const [args, message] of cases) assert.throws(() => parseFeaturesArgs(args), (err: unknown) => err instanceof UsageError && message.test(err.message), args.join(" "));
});
