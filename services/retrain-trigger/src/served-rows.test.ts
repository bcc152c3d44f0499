import assert from "node:assert/strict";
import { test } from "node:test";
import { fromFeatureValue } from "@loopline/proto";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { trainingSetSql } from "./queries.js";
import { trainingSetFromServedRows } from "./served-rows.js";

test("served rows become examples by feature ref; non-PRESENT values are missing as they were at serving", () => {
  const set = trainingSetFromServedRows(
    [
      { request_id: "a", time_ms: "5", feature_refs: ["v:x", "v:c"], feature_numbers: [2.5, 0], feature_strings: ["", "FR"], feature_statuses: [1, 1], label: 1 },
      { request_id: "b", time_ms: 6, feature_refs: ["v:c", "v:x"], feature_numbers: [0, 9], feature_strings: ["", ""], feature_statuses: [3, 4], label: 0 },
      { request_id: "c", time_ms: 7, feature_refs: ["v:x"], feature_numbers: [1], feature_strings: [""], feature_statuses: [1], label: 0.8 },
    ],
    ["v:x", "v:c"],
    "q",
  );
  const plain = set.examples.map((e) => e.values.map(fromFeatureValue));
  assert.deepEqual(plain, [[2.5, "FR"], [null, null], [1, null]]);
  assert.deepEqual(set.examples[1]?.statuses, [FeatureStatus.OUTSIDE_MAX_AGE, FeatureStatus.NOT_FOUND]);
  assert.deepEqual(set.examples[2]?.statuses, [FeatureStatus.PRESENT, FeatureStatus.NOT_FOUND], "a ref the row lacks is NOT_FOUND");
  assert.deepEqual(set.examples.map((e) => e.label), [1, 0, 1]);
  assert.deepEqual(set.examples.map((e) => e.timeMs), [5, 6, 7]);
});

test("the training query escapes the model name and samples deterministically by request hash", () => {
  const q = trainingSetSql({ database: "loopline", model: "fr'aud\\", fromMs: 1000, toMs: 2000, sampleRate: 0.25, maxRows: 10 });
  assert.match(q, /model = 'fr\\'aud\\\\'/);
  assert.match(q, /cityHash64\(request_id\) % 1000000 < 250000/);
  assert.match(q, /time_ms >= 1000 AND time_ms < 2000/);
  assert.match(q, /LIMIT 10\n\)$/);
  assert.match(q, /FROM `loopline`\.labelled_predictions\n/);
});
