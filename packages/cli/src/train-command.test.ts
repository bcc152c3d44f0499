import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "./commands.js";
import { parseTrainArgs, selectLabels } from "./train-command.js";

test("train arguments: defaults, and each mistake named", () => {
  const a = parseTrainArgs(["fraud", "card_txn", "--features", "last_amount, txn_count_1h", "--trainer", "builtin:gbt", "--threshold", "0.3", "--promote"]);
  assert.deepEqual([a.model, a.view.name, a.features, a.trainerSpec, a.threshold, a.minLabels, a.promote, a.json], ["fraud", "card_txn", ["last_amount", "txn_count_1h"], "builtin:gbt", 0.3, 50, true, false]);
  const d = parseTrainArgs(["fraud", "card_txn"]);
  assert.deepEqual([d.trainerSpec, d.threshold, d.promote, d.reason], ["builtin:logistic", "max_f1", false, undefined]);
  assert.ok(!d.features.includes("last_country") && d.features.includes("amount_sum_1h"), "default: the view's numeric features");
  const cases: [string[], RegExp][] = [
    [[], /^MODEL is required$/],
    [["fraud"], /^VIEW is required$/],
    [["fraud", "card_txn", "extra"], /^unexpected argument "extra"$/],
    [["fraud", "card_txn", "--features", "amount_sum_2h"], /^--features: card_txn has no feature "amount_sum_2h"$/],
    [["fraud", "card_txn", "--trainer", "sklearn"], /^--trainer: trainer "sklearn": expected builtin:logistic, builtin:gbt or command:<path>$/],
    [["fraud", "card_txn", "--threshold", "1"], /^--threshold: "1" is neither max_f1 nor a number between 0 and 1$/],
    [["fraud", "card_txn", "--min-labels", "2"], /^--min-labels: "2" is not a whole number of at least 4$/],
    [["fraud", "card_txn", "--promote=yes"], /^--promote takes no value/],
    [["fraud", "card_txn", "--promot"], /^unknown flag --promot$/],
    [["fraud", "card_txn", "--reason", "first"], /^--reason is the promotion's: it goes with --promote$/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseTrainArgs(args), (err: unknown) => err instanceof UsageError && message.test(err.message), args.join(" "));
  }
});

test("labels: entity-keyed ones kept, one per entity and time (the later wins), the rest counted", () => {
  const selection = selectLabels([
    { requestId: "", entityId: "c2", eventTimeMs: 2000, label: 1, labelTimeMs: 0 },
    { requestId: "", entityId: "c1", eventTimeMs: 1000, label: 1, labelTimeMs: 0 },
    { requestId: "r1", entityId: "", eventTimeMs: 0, label: 0, labelTimeMs: 0 },
    { code: "INVALID_LABEL", detail: "label must be 0 or 1" },
    { requestId: "", entityId: "c1", eventTimeMs: 1000, label: 0, labelTimeMs: 5 },
    { code: "INVALID_LABEL", detail: "label must be 0 or 1" },
  ]);
  assert.deepEqual(selection.labels, [
    { id: "c1@1000", entityId: "c1", atMs: 1000, label: 0 },
    { id: "c2@2000", entityId: "c2", atMs: 2000, label: 1 },
  ]);
  assert.deepEqual([selection.positives, selection.requestKeyed, selection.replaced, [...selection.invalid]], [1, 1, 1, [["INVALID_LABEL", 2]]]);
});
