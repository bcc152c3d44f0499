import assert from "node:assert/strict";
import { test } from "node:test";
import { runDemo } from "./run-demo.js";

// The whole loop end to end, every service a real process on the real stack: a shorter run of the
// demo's story. Behaviour is asserted, not timings: a drifted champion is replaced through the gates
// by a challenger that beats it on the same post-drift requests, and a champion forced in without
// gates that performs badly does not stay in production.
test("drift is noticed, a better challenger is promoted through the gates, a bad champion is rolled back", { timeout: 900_000 }, async () => {
  const lines: string[] = [];
  const summary = await runDemo({
    seed: 11,
    historyMinutes: 12,
    beforeDriftSeconds: 30,
    maxLiveSeconds: 420,
    print: (line) => {
      lines.push(line);
      if (process.env["LOOPLINE_TEST_LOG"] === "1") process.stderr.write(`${line}\n`);
    },
  });
  const story = lines.join("\n");
  assert.ok(summary.challenger !== undefined, `a challenger was promoted\n${story}`);
  assert.ok(summary.postDriftAuc.pairs > 50, `paired post-drift requests: ${summary.postDriftAuc.pairs}`);
  assert.ok((summary.postDriftAuc.challenger ?? 0) > (summary.postDriftAuc.champion ?? 1), `challenger beats the old champion after the drift: ${JSON.stringify(summary.postDriftAuc)}`);
  assert.ok(summary.timeline.some((e) => /dataset drift/.test(e.what)), "drift was reported");
  assert.ok(summary.timeline.some((e) => /shadow gate passed/.test(e.what)), "the challenger passed the shadow gate");
  assert.ok(summary.badChallenger !== undefined, "the bad champion was forced in");
  assert.ok(summary.badRolledBack, `the bad champion was rolled back automatically\n${story}`);
  assert.notEqual(summary.finalProduction, summary.badChallenger);
});
