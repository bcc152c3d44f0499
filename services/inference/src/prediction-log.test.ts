import assert from "node:assert/strict";
import { test } from "node:test";
import { createMetrics, silentLogger } from "@loopline/kit";
import { createInferenceMetrics } from "./inference-metrics.js";
import { createPredictionLog, predictionRecord } from "./prediction-log.js";
import { createMemorySink } from "./testing/harness.js";

const setup = (bufferSize: number) => {
  const metrics = createMetrics({ service: "test", defaultMetrics: false });
  const sink = createMemorySink();
  const log = createPredictionLog({ sink, logger: silentLogger, metrics: createInferenceMetrics(metrics), bufferSize, batchSize: 10, flushIntervalMs: 5 });
  return { metrics, sink, log };
};
const rec = (i: number) => predictionRecord({ requestId: `r${i}`, entityId: `e${i}` });

test("records are published in order, in batches, without the caller waiting", async () => {
  const { sink, log } = setup(1000);
  for (let i = 0; i < 95; i++) log.append(rec(i));
  await sink.waitFor(95);
  assert.deepEqual(sink.records.map((r) => r.requestId), Array.from({ length: 95 }, (_, i) => `r${i}`));
  await log.close(1000);
});

test("while the sink is down records wait; overflow is dropped and counted; nothing else is lost", async () => {
  const { sink, log, metrics } = setup(50);
  sink.failing = true;
  for (let i = 0; i < 80; i++) log.append(rec(i));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(sink.records.length, 0);
  assert.equal(log.buffered, 50);
  assert.match(await metrics.registry.metrics(), /loopline_inference_prediction_log_dropped_total\{[^}]*\} 30/);
  sink.failing = false;
  await sink.waitFor(50, 5000);
  assert.deepEqual(sink.records.map((r) => r.requestId), Array.from({ length: 50 }, (_, i) => `r${i}`));
  await log.close(1000);
});

test("close flushes what is buffered", async () => {
  const { sink, log } = setup(1000);
  for (let i = 0; i < 7; i++) log.append(rec(i));
  await log.close(1000);
  assert.equal(sink.records.length, 7);
});
