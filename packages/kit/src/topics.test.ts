import assert from "node:assert/strict";
import { test } from "node:test";
import { dlqTopic, topicName, topicSpecs } from "./topics.js";

test("topic specs come from the one table: 3 partitions, single-partition DLQs, the compacted registry feed", () => {
  const p = "x.";
  assert.deepEqual(topicSpecs(p, [topicName(p, "events"), dlqTopic(topicName(p, "events")), topicName(p, "models")]), [
    { topic: "x.events", partitions: 3 },
    { topic: "x.events.dlq", partitions: 1 },
    { topic: "x.models", partitions: 1, compacted: true },
  ]);
  assert.throws(() => topicSpecs(p, ["loopline.events"]), /not a Loopline topic under the prefix "x\."/);
});
