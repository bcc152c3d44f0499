import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Stage } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { createBatcher } from "./batcher.js";
import { createModelFolder, startHarness, type Harness, type ModelFolder } from "./testing/harness.js";
import { linearSigmoidModel } from "./testing/onnx-models.js";
import type { HostTensor } from "./tensor.js";

// Weights chosen so float32 rounding differs from row to row: a batched run that mixed rows up or
// summed in another order would show.
const WEIGHTS = [0.1234567, -2.7182818, 3.1415927, 0.5772157, -1.4142135];
const BIAS = 0.3333333;

let folder: ModelFolder;
let h: Harness;
before(async () => {
  folder = await createModelFolder();
  await folder.write("lin", "1", linearSigmoidModel({ weights: WEIGHTS, bias: BIAS }), { stage: Stage.PRODUCTION, serving: { maxBatchSize: 64, maxQueueDelayUs: 2000 } });
  h = await startHarness({ folder });
});
after(async () => {
  await h.close();
  await folder.cleanup();
});

function rows(n: number, seed: number): number[] {
  const out: number[] = [];
  let s = seed;
  for (let i = 0; i < n * WEIGHTS.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out.push(((s % 20001) - 10000) / 997);
  }
  return out;
}

const infer = (values: number[], n: number) =>
  h.oip.modelInfer({ modelName: "lin", inputs: [{ name: "x", datatype: "FP32", shape: [BigInt(n), BigInt(WEIGHTS.length)], contents: { fp32Contents: values } }] });

test("batched outputs equal unbatched outputs exactly, and requests really were coalesced", async () => {
  const requests = Array.from({ length: 48 }, (_, i) => ({ n: 1 + (i % 3), values: rows(1 + (i % 3), i + 1) }));
  // One at a time: every request runs alone.
  const alone: Awaited<ReturnType<typeof infer>>[] = [];
  for (const r of requests) alone.push(await infer(r.values, r.n));
  const execBefore = await execCount();
  // All at once: the batcher coalesces them (max_queue_delay 2 ms).
  const together = await Promise.all(requests.map((r) => infer(r.values, r.n)));
  const runs = (await execCount()) - execBefore;
  assert.ok(runs < requests.length / 2, `${runs} runs for ${requests.length} concurrent requests`);
  together.forEach((res, i) => {
    for (const name of ["logit", "probability"]) {
      assert.deepEqual(
        res.outputs.find((o) => o.name === name)?.contents?.fp32Contents,
        alone[i]?.outputs.find((o) => o.name === name)?.contents?.fp32Contents,
        `request ${i} output ${name}`,
      );
    }
    assert.deepEqual(res.outputs[1]?.shape.map(Number), [requests[i]?.n, 2]);
  });
});

async function execCount(): Promise<number> {
  const text = await h.service.metrics.registry.metrics();
  const m = /loopline_inference_exec_count_total\{[^}]*model="lin"[^}]*\} (\d+)/.exec(text);
  return Number(m?.[1] ?? 0);
}

test("batcher: max_batch_size bounds rows per run; incompatible shapes run separately; aborted requests never run", async () => {
  const runs: number[] = [];
  const batcher = createBatcher({
    inputTypes: ["float32"],
    batchable: true,
    maxBatchSize: 4,
    maxQueueDelayUs: 0,
    run: (inputs: readonly HostTensor[]) => {
      const x = inputs[0] as HostTensor;
      runs.push(x.dims[0] as number);
      // Output row r = 10 × the first element of input row r: shows each caller gets its own rows.
      const width = x.dims[1] as number;
      const out = new Float32Array(x.dims[0] as number).map((_, r) => 10 * ((x.data as Float32Array)[r * width] as number));
      return Promise.resolve([{ type: "float32", data: out, dims: [x.dims[0] as number, 1] }]);
    },
  });
  const aborted = new AbortController();
  aborted.abort(new Error("gone"));
  const live = new AbortController();
  const jobs = [
    batcher.submit([new Float32Array([1, 0])], [[1, 2]]),
    batcher.submit([new Float32Array([2, 0, 3, 0])], [[2, 2]]),
    batcher.submit([new Float32Array([4, 0, 5, 0])], [[2, 2]], live.signal), // does not fit: next run
    batcher.submit([new Float32Array([6, 0, 0])], [[1, 3]]), // other shape: its own run
  ];
  const cancelled = batcher.submit([new Float32Array([7, 0])], [[1, 2]], aborted.signal);
  await assert.rejects(cancelled, /gone/);
  const results = await Promise.all(jobs);
  assert.deepEqual(results.map((r) => [...(r.outputs[0]?.data as Float32Array)]), [[10], [20, 30], [40, 50], [60]]);
  assert.ok(runs.every((n) => n <= 4), `runs ${runs.join(",")}`);
  assert.equal(runs.reduce((a, b) => a + b, 0), 6);
});
