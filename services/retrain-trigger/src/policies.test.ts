import assert from "node:assert/strict";
import { test } from "node:test";
import { admitRetrain, evaluateReport, evaluateSchedule, INITIAL_POLICY_STATE, type PolicyState, type ReportFacts } from "./policies.js";
import { DEFAULT_POLICY, type ModelPolicy } from "./policy-config.js";

const policy: ModelPolicy = {
  ...DEFAULT_POLICY,
  drift: { enabled: true, driftedShare: 0.5, consecutive: 3 },
  decay: { enabled: true, aucFloor: 0.7, maxDrop: 0.05, minLabelled: 100 },
  cooldownMs: 60_000,
  schedule: { everyMs: 0 },
};
const production = { version: "3", offlineAuc: 0.9 };
let windowEnd = 0;
const report = (fields: Partial<ReportFacts>): ReportFacts => ({ reportId: `r${windowEnd}`, modelVersion: "3", windowEndMs: (windowEnd += 1000), driftedShare: 0, datasetDrift: false, labelled: 0, auc: undefined, ...fields });

/** Folds a sequence of reports and returns, per report, the fired policies ("" = none, "-" = ignored). */
function run(reports: ReportFacts[], p: ModelPolicy = policy, start: PolicyState = INITIAL_POLICY_STATE): string[] {
  let state = start;
  return reports.map((r) => {
    const e = evaluateReport(state, r, p, production);
    state = e.state;
    if (e.ignored !== undefined) return "-";
    return e.verdicts.filter((v) => v.fired).map((v) => v.policy).join("+");
  });
}

test("drift policy: fires on the K-th consecutive drifted window, a clean window resets the streak", () => {
  const cases: [string, number[], string[]][] = [
    ["three in a row", [0.6, 0.5, 0.9], ["", "", "drift"]],
    ["reset in between", [0.6, 0.6, 0.4, 0.6, 0.6], ["", "", "", "", ""]],
    ["keeps firing while drifted", [0.6, 0.6, 0.6, 0.7], ["", "", "drift", "drift"]],
    ["just below the threshold never counts", [0.49, 0.49, 0.49], ["", "", ""]],
  ];
  for (const [name, shares, expected] of cases) {
    assert.deepEqual(run(shares.map((driftedShare) => report({ driftedShare }))), expected, name);
  }
});

test("drift policy: reports about another version or an old window are ignored", () => {
  const first = report({ driftedShare: 0.9 });
  assert.deepEqual(run([first, { ...first }, report({ driftedShare: 0.9, modelVersion: "2" }), report({ driftedShare: 0.9 }), report({ driftedShare: 0.9 })]), ["", "-", "-", "", "drift"]);
});

test("decay policy: floor, drop from the champion's offline AUC, and the minimum label count", () => {
  const cases: [string, Partial<ReportFacts>, string][] = [
    ["below the floor", { labelled: 500, auc: 0.65 }, "decay"],
    ["below baseline − δ", { labelled: 500, auc: 0.84 }, "decay"],
    ["exactly baseline − δ", { labelled: 500, auc: 0.85 }, ""],
    ["healthy", { labelled: 500, auc: 0.91 }, ""],
    ["too few labels", { labelled: 99, auc: 0.5 }, ""],
    ["one class (no AUC)", { labelled: 500, auc: undefined }, ""],
  ];
  for (const [name, fields, expected] of cases) assert.deepEqual(run([report(fields)]), [expected], name);
});

test("disabled policies are not evaluated", () => {
  const off: ModelPolicy = { ...policy, drift: { ...policy.drift, enabled: false }, decay: { ...policy.decay, enabled: false } };
  const e = evaluateReport(INITIAL_POLICY_STATE, report({ driftedShare: 1, labelled: 1000, auc: 0.1 }), off, production);
  assert.deepEqual(e.verdicts, []);
});

test("admission: one retrain in flight per model, and a cooldown after each", () => {
  const cases: [string, PolicyState, number, string | undefined, boolean][] = [
    ["never retrained", INITIAL_POLICY_STATE, 1_000_000, undefined, true],
    ["in flight", INITIAL_POLICY_STATE, 1_000_000, "shadow of version 4", false],
    ["within cooldown", { ...INITIAL_POLICY_STATE, lastRetrainMs: 1_000_000 }, 1_059_999, undefined, false],
    ["cooldown over", { ...INITIAL_POLICY_STATE, lastRetrainMs: 1_000_000 }, 1_060_000, undefined, true],
  ];
  for (const [name, state, now, inFlight, admitted] of cases) assert.equal(admitRetrain(state, policy, now, inFlight).admitted, admitted, name);
});

test("schedule policy: off by default, then every period since start or the last firing", () => {
  assert.equal(evaluateSchedule(INITIAL_POLICY_STATE, policy, 10 ** 9, 0), undefined);
  const hourly: ModelPolicy = { ...policy, schedule: { everyMs: 3_600_000 } };
  assert.equal(evaluateSchedule(INITIAL_POLICY_STATE, hourly, 3_599_999, 0), undefined);
  assert.equal(evaluateSchedule(INITIAL_POLICY_STATE, hourly, 3_600_000, 0)?.fired, true);
  assert.equal(evaluateSchedule({ ...INITIAL_POLICY_STATE, lastScheduleMs: 3_600_000 }, hourly, 7_199_999, 0), undefined);
});
