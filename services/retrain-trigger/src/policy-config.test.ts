import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_POLICY, parsePolicies, PolicyConfigError } from "./policy-config.js";

test('per-model settings override "*", which overrides the defaults; durations in words or ms', () => {
  const policies = parsePolicies(JSON.stringify({ "*": { cooldown: "10m", drift: { consecutive: 2 } }, fraud: { drift: { drifted_share: 0.3 }, schedule: { every: 3_600_000 }, training: { threshold: "max_f1" } } }));
  const fraud = policies.forModel("fraud");
  assert.equal(fraud.cooldownMs, 600_000);
  assert.deepEqual(fraud.drift, { enabled: true, driftedShare: 0.3, consecutive: 2 });
  assert.equal(fraud.schedule.everyMs, 3_600_000);
  assert.equal(fraud.training.threshold, "max_f1");
  assert.equal(fraud.canary.percent, DEFAULT_POLICY.canary.percent);
  const other = policies.forModel("churn");
  assert.equal(other.cooldownMs, 600_000);
  assert.equal(other.drift.driftedShare, DEFAULT_POLICY.drift.driftedShare);
  assert.deepEqual([...policies.keys()], ["fraud"]);
  assert.deepEqual(parsePolicies("").forModel("x"), DEFAULT_POLICY);
});

test("mistakes are refused with the path at fault", () => {
  const cases: [string, RegExp][] = [
    ["not json", /not JSON/],
    ["[]", /expected an object keyed by model/],
    ['{"m": {"drfit": {}}}', /policies\.m\.drfit: unknown setting/],
    ['{"m": {"drift": {"share": 1}}}', /policies\.m\.drift\.share: unknown setting/],
    ['{"m": {"drift": {"drifted_share": 2}}}', /drifted_share: expected a number in \[0, 1\]/],
    ['{"m": {"cooldown": "soon"}}', /cooldown: expected a duration/],
    ['{"m": {"canary": {"percent": 0}}}', /canary\.percent: must be in \(0, 100\]/],
    ['{"m": {"training": {"feature_refs": [""]}}}', /feature_refs: expected an array/],
  ];
  for (const [text, message] of cases) assert.throws(() => parsePolicies(text), (err: unknown) => err instanceof PolicyConfigError && message.test(err.message), text);
});
