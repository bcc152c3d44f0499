import assert from "node:assert/strict";
import { test } from "node:test";
import type { Kafka } from "kafkajs";
import { createProducer, lostProducerState, recordBytes, splitBySize, withRetries } from "./kafka.js";
import { silentLogger } from "./log.js";

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

test("a producer whose state the broker lost is replaced: the failed send fails, the next goes out on a new one", async () => {
  // The error kafkajs raised in feature-ingest's broker-kill test, once per send, forever: a
  // KafkaJSProtocolError of type OUT_OF_ORDER_SEQUENCE_NUMBER (Kafka error code 45), here wrapped
  // as kafkajs wraps errors it does not retry.
  const outOfOrder = () =>
    Object.assign(new Error("The broker received an out of order sequence number"), {
      name: "KafkaJSNonRetriableError",
      cause: Object.assign(new Error("The broker received an out of order sequence number"), { name: "KafkaJSProtocolError", type: "OUT_OF_ORDER_SEQUENCE_NUMBER", code: 45 }),
    });
  const made: { sent: number; disconnected: boolean; broken: boolean }[] = [];
  const kafka = {
    producer: () => {
      const p = { sent: 0, disconnected: false, broken: made.length === 0 };
      made.push(p);
      return {
        connect: async () => undefined,
        disconnect: async () => void (p.disconnected = true),
        send: async () => {
          if (p.broken) throw outOfOrder();
          p.sent++;
          return [];
        },
      } as unknown as ReturnType<Kafka["producer"]>;
    },
  };
  const producer = await createProducer(kafka, silentLogger, {});
  await assert.rejects(producer.send("t", [{ value: "a" }]), (err: Error) => err.name === "UnavailableError" && /out of order sequence/.test(err.message));
  await producer.send("t", [{ value: "a" }]);
  await producer.send("t", [{ value: "b" }]);
  assert.equal(made.length, 2, "one new producer, not one per send");
  assert.deepEqual(made.map((p) => [p.sent, p.disconnected]), [[0, true], [2, false]]);
});

test("lostProducerState finds the state errors anywhere in the cause chain, and only them", () => {
  const wrap = (type: string) => ({ name: "KafkaJSNumberOfRetriesExceeded", cause: { name: "KafkaJSProtocolError", type } });
  for (const type of ["OUT_OF_ORDER_SEQUENCE_NUMBER", "UNKNOWN_PRODUCER_ID", "INVALID_PRODUCER_EPOCH"]) assert.equal(lostProducerState(wrap(type)), true, type);
  for (const type of ["NOT_LEADER_OR_FOLLOWER", "REQUEST_TIMED_OUT", "DUPLICATE_SEQUENCE_NUMBER"]) assert.equal(lostProducerState(wrap(type)), false, type);
  assert.equal(lostProducerState(new Error("Connection error")), false);
  assert.equal(lostProducerState(undefined), false);
});
