import assert from "node:assert/strict";
import { test } from "node:test";
import { isolateStack } from "@loopline/testkit";
import { capture } from "./capture.test-helper.js";
import { startFeatureStore, writeCardVersions } from "./feature-store.test-helper.js";
import { featuresCommand } from "./features-command.js";

// Integration: feature-store in-process on the real Redis (and Kafka, which it consumes); values
// written through WriteFeatures are read back by the CLI as GetOnlineFeatures serves them.

const MIN = 60_000;
const NOW = Math.floor(Date.now() / 1000) * 1000;

test("features reads what the store serves: values, statuses and event times, as of now or a past time", async (t) => {
  const s = await isolateStack(t);
  const { address, client } = await startFeatureStore(t, s);
  const written = new Date(NOW - 2 * MIN).toISOString();
  await writeCardVersions(client, [{ entityId: "card-1", eventTimeMs: NOW - 2 * MIN, revision: 1, producedAtMs: NOW, values: { txn_count_1h: 3, last_country: "FR" } }]);

  const run = async (...args: string[]) => {
    const io = capture({ LOOPLINE_FEATURE_STORE_ADDRESS: address });
    const code = await featuresCommand.run(args, io);
    return { code, out: io.stdout(), err: io.stderr() };
  };
  const rows = (text: string) => text.split("\n").map((l) => l.trim().split(/\s{2,}/));

  const now = await run("card-1", "card-2", "--features", "card_txn:txn_count_1h,card_txn:last_country");
  assert.equal(now.code, 0, now.err);
  const lines = rows(now.out);
  assert.deepEqual(lines[0], ["card-1 (now): 2/2 present"]);
  assert.deepEqual(lines[2], ["card_txn:txn_count_1h", "3", "PRESENT", written]);
  assert.deepEqual(lines[3], ["card_txn:last_country", '"FR"', "PRESENT", written]);
  assert.deepEqual(lines[5], ["card-2 (now): 0/2 present"]);
  assert.deepEqual(lines[7], ["card_txn:txn_count_1h", "0", "NOT_FOUND", "-"]);

  // Before the write the store has nothing for card-1.
  const before = await run("card-1", "--features", "card_txn:last_country", "--as-of", new Date(NOW - 5 * MIN).toISOString());
  assert.equal(before.code, 0, before.err);
  assert.match(before.out, /^card-1 \(as of .*\): 0\/1 present\n/);
  assert.match(before.out, /card_txn:last_country +null +NOT_FOUND +-/);

  const json = await run("card-1", "--features", "card_txn:txn_count_1h", "--json");
  assert.deepEqual(JSON.parse(json.out).columns[0].statuses, ["FEATURE_STATUS_PRESENT"]);

  const unknown = await run("card-1", "--features", "card_txn:nope,card_txn:txn_count_1h");
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /INVALID_ARGUMENT.*card_txn:nope/);
});
