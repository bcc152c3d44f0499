import assert from "node:assert/strict";
import { test } from "node:test";
import { recordBytes, splitBySize, withRetries } from "./kafka.js";

test("splitBySize keeps order, bounds each run, and lets an oversized record travel alone", () => {
  const sizes = [4, 4, 4, 11, 1, 1, 8, 3];
  const runs = splitBySize(sizes, 10, (n) => n);
  assert.deepEqual(runs, [[4, 4], [4], [11], [1, 1, 8], [3]]);
  assert.deepEqual(runs.flat(), sizes);
  assert.deepEqual(splitBySize([], 10, (n: number) => n), []);
});

test("recordBytes counts UTF-8 bytes of key, value and headers plus framing", () => {
  const bare = recordBytes({ value: null });
  assert.equal(recordBytes({ key: "é", value: Buffer.alloc(10) }) - bare, 2 + 10);
  assert.equal(recordBytes({ value: "abc", headers: { h: "12" } }) - bare, 3 + 8 + 1 + 2);
});

test("withRetries retries leader errors, gives up after its attempts, and throws other errors at once", async () => {
  // The shape kafkajs gives a KafkaJSProtocolError for code 6, as CI saw it from listOffsets.
  const notLeader = Object.assign(new Error("This server is not the leader for that topic-partition"), {
    retriable: true,
    type: "NOT_LEADER_FOR_PARTITION",
  });
  let calls = 0;
  const value = await withRetries(async () => {
    calls++;
    if (calls < 3) throw notLeader;
    return "offsets";
  });
  assert.equal(value, "offsets");
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(withRetries(async () => { calls++; throw notLeader; }, 2), /not the leader/);
  assert.equal(calls, 2);

  calls = 0;
  await assert.rejects(withRetries(async () => { calls++; throw new Error("Topic authorization failed"); }), /authorization/);
  assert.equal(calls, 1);
});
