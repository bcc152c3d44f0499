import assert from "node:assert/strict";
import { test } from "node:test";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { ExportError, exportLinearRegressionOnnx, exportLogisticRegressionOnnx } from "./logistic-regression-onnx.js";

// weights [2, -1], intercept 0.5, means [1, 2], scales [2, 4]; worked by hand:
//   [3, 6]   → standardised (1, 1)  → logit 2 − 1 + 0.5 = 1.5   → σ = 1 / (1 + e^−1.5) = 0.8175744761936437
//   [1, 2]   → standardised (0, 0)  → logit 0.5                  → σ = 1 / (1 + e^−0.5) = 0.6224593312018546
//   [−1, 10] → standardised (−1, 2) → logit −2 − 2 + 0.5 = −3.5  → σ = 1 / (1 + e^3.5)  = 0.02931223075135632
const spec = { weights: [2, -1], intercept: 0.5, means: [1, 2], scales: [2, 4] };
const rows = [3, 6, 1, 2, -1, 10];
const expectedP1 = [0.8175744761936437, 0.6224593312018546, 0.02931223075135632];

async function run(bytes: Uint8Array, input: string, output: string, data: number[]): Promise<{ dims: readonly number[]; values: number[] }> {
  const session = await InferenceSession.create(bytes);
  try {
    const result = await session.run({ [input]: new Tensor("float32", Float32Array.from(data), [data.length / 2, 2]) });
    const tensor = result[output];
    assert.ok(tensor !== undefined, `output ${output} missing`);
    return { dims: tensor.dims, values: Array.from(tensor.data as Float32Array) };
  } finally {
    await session.release();
  }
}

test("the logistic regression export loads in onnxruntime and outputs [1 − p, p] per row", async () => {
  const { dims, values } = await run(exportLogisticRegressionOnnx(spec), "features", "probability", rows);
  assert.deepEqual(dims, [3, 2]);
  expectedP1.forEach((p, i) => {
    assert.ok(Math.abs((values[i * 2 + 1] as number) - p) < 1e-6, `row ${i}: P(1) ${values[i * 2 + 1]} ≠ ${p}`);
    assert.ok(Math.abs((values[i * 2] as number) - (1 - p)) < 1e-6, `row ${i}: P(0) ${values[i * 2]} ≠ ${1 - p}`);
  });
});

test("input and output names are configurable and visible to the runtime", async () => {
  const bytes = exportLogisticRegressionOnnx({ ...spec, inputName: "X", outputName: "scores" });
  const session = await InferenceSession.create(bytes);
  try {
    assert.deepEqual(session.inputNames, ["X"]);
    assert.deepEqual(session.outputNames, ["scores"]);
    const input = session.inputMetadata[0];
    assert.ok(input?.isTensor === true);
    assert.equal(input.type, "float32");
    assert.equal(input.shape[1], 2);
  } finally {
    await session.release();
  }
});

test("without means and scales the columns are used as they are", async () => {
  // logit = 2·3 − 1·6 + 0.5 = 0.5 → 0.6224593312018546
  const { values } = await run(exportLogisticRegressionOnnx({ weights: [2, -1], intercept: 0.5 }), "features", "probability", [3, 6]);
  assert.ok(Math.abs((values[1] as number) - 0.6224593312018546) < 1e-6);
});

test("the linear regression export computes the standardised dot product plus intercept", async () => {
  const { dims, values } = await run(exportLinearRegressionOnnx(spec), "features", "prediction", rows);
  assert.deepEqual(dims, [3, 1]);
  [1.5, 0.5, -3.5].forEach((y, i) => assert.ok(Math.abs((values[i] as number) - y) < 1e-6, `row ${i}: ${values[i]} ≠ ${y}`));
});

test("coefficients that cannot make a model are refused with the field at fault", () => {
  const cases: [string, Parameters<typeof exportLogisticRegressionOnnx>[0], RegExp][] = [
    ["no weights", { weights: [], intercept: 0 }, /weights: at least one column/],
    ["means length", { weights: [1, 2], intercept: 0, means: [0] }, /means: 1 values for 2 weights/],
    ["scales length", { weights: [1], intercept: 0, scales: [1, 1] }, /scales: 2 values for 1 weights/],
    ["NaN weight", { weights: [1, Number.NaN], intercept: 0 }, /weights\[1\]: NaN is not a finite number/],
    ["infinite intercept", { weights: [1], intercept: Number.POSITIVE_INFINITY }, /intercept\[0\]: Infinity/],
    ["zero scale", { weights: [1, 1], intercept: 0, scales: [1, 0] }, /scales\[1\]: a scale of 0/],
  ];
  for (const [name, bad, message] of cases) {
    assert.throws(() => exportLogisticRegressionOnnx(bad), (err: unknown) => err instanceof ExportError && message.test(err.message), name);
  }
});
