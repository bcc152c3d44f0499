import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageQueue } from "./message-queue.js";

async function drain<T>(queue: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of queue) {
    out.push(value);
  }
  return out;
}

test("buffered messages are delivered before the end, and pushes after the end are ignored", async () => {
  const queue = new MessageQueue<number>();
  queue.push(1);
  queue.push(2);
  queue.close();
  queue.push(3);
  assert.deepEqual(await drain(queue), [1, 2]);
});

test("a consumer waiting for messages gets them as they are pushed", async () => {
  const queue = new MessageQueue<string>();
  const result = drain(queue);
  setImmediate(() => {
    queue.push("a");
    setImmediate(() => {
      queue.push("b");
      queue.close();
    });
  });
  assert.deepEqual(await result, ["a", "b"]);
});

test("fail() delivers the buffered messages, then throws the error", async () => {
  const queue = new MessageQueue<number>();
  const seen: number[] = [];
  queue.push(1);
  queue.fail(new Error("boom"));
  await assert.rejects(async () => {
    for await (const value of queue) {
      seen.push(value);
    }
  }, /boom/);
  assert.deepEqual(seen, [1]);
});

test("a full buffer asks the producer to pause, and to resume once half drained", async () => {
  const events: string[] = [];
  const queue = new MessageQueue<number>({
    highWaterMark: 4,
    onFull: () => events.push("full"),
    onDrained: () => events.push("drained"),
  });
  for (let i = 0; i < 4; i++) {
    queue.push(i);
  }
  assert.deepEqual(events, ["full"]);
  queue.close();
  assert.deepEqual(await drain(queue), [0, 1, 2, 3]);
  assert.deepEqual(events, ["full", "drained"]);
});

test("a consumer that stops early triggers onAbandon once", async () => {
  let abandoned = 0;
  const queue = new MessageQueue<number>({ onAbandon: () => abandoned++ });
  queue.push(1);
  queue.push(2);
  for await (const value of queue) {
    assert.equal(value, 1);
    break;
  }
  assert.equal(abandoned, 1);
  await assert.rejects(drain(queue), TypeError);
});
