import assert from "node:assert/strict";
import { test } from "node:test";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { TrainerError } from "./errors.js";
import { fixture, fixtureMatrix } from "./fixture.test-helper.js";
import { exportLogisticRegressionOnnx } from "./logistic-regression-onnx.js";
import { fitLogisticRegression, predictLogistic } from "./logistic-regression.js";
import { fitStandardisation } from "./standardise.js";

const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs scikit-learn ${expected} (|Δ| ${Math.abs(actual - expected).toExponential(2)})`);

test("standardisation equals scikit-learn's StandardScaler, constant column scaled by 1", () => {
  const { x, rows, columns } = fixtureMatrix();
  const s = fitStandardisation(x, rows, columns);
  fixture.means.forEach((m, j) => close(s.means[j]!, m, 1e-9 * Math.max(1, Math.abs(m)), `mean[${j}]`));
  fixture.scales.forEach((v, j) => close(s.scales[j]!, v, 1e-9 * Math.max(1, v), `scale[${j}]`));
  assert.equal(s.scales[4], 1);
});

for (const c of fixture.cases) {
  test(`coefficients match scikit-learn LogisticRegression (${c.name}: C=${c.C}, class_weight=${c.class_weight ?? "none"}) to 1e-6`, () => {
    const { x, rows, columns } = fixtureMatrix();
    const model = fitLogisticRegression(x, rows, columns, fixture.y, { c: c.C, ...(c.class_weight === "balanced" ? { classWeight: "balanced" as const } : {}) });
    c.coef.forEach((w, j) => close(model.weights[j]!, w, 1e-6, `coef[${j}]`));
    close(model.intercept, c.intercept, 1e-6, "intercept");
    const p = predictLogistic(model, x, rows);
    c.proba.forEach((q, i) => close(p[i]!, q, 1e-6, `P(1) row ${i}`));
    assert.ok(model.iterations < 30, `Newton took ${model.iterations} iterations`);
  });
}

test("the exported ONNX model scored by onnxruntime equals the TypeScript model's probabilities (1e-6)", async () => {
  const { x, rows, columns } = fixtureMatrix();
  const model = fitLogisticRegression(x, rows, columns, fixture.y, { c: 1 });
  const onnx = exportLogisticRegressionOnnx({ weights: model.weights, intercept: model.intercept, means: model.standardisation.means, scales: model.standardisation.scales });
  const session = await InferenceSession.create(onnx);
  try {
    // Feed the float32 rounding of x to both, as serving does.
    const x32 = Float32Array.from(x);
    const out = await session.run({ features: new Tensor("float32", x32, [rows, columns]) });
    const ort = out["probability"]?.data as Float32Array;
    const ts = predictLogistic(model, Float64Array.from(x32), rows);
    for (let i = 0; i < rows; i++) close(ort[i * 2 + 1]!, ts[i]!, 1e-6, `row ${i}`);
  } finally {
    await session.release();
  }
});

test("degenerate training sets are refused with the reason", () => {
  const cases: [string, () => unknown, string][] = [
    ["no rows", () => fitLogisticRegression(new Float64Array(0), 0, 2, []), "EMPTY_TRAINING_SET"],
    ["one class", () => fitLogisticRegression(Float64Array.from([1, 2, 3]), 3, 1, [1, 1, 1]), "ONE_CLASS"],
    ["label 2", () => fitLogisticRegression(Float64Array.from([1, 2]), 2, 1, [0, 2]), "INVALID_ARGUMENT"],
    ["NaN cell", () => fitLogisticRegression(Float64Array.from([1, Number.NaN]), 2, 1, [0, 1]), "INVALID_ARGUMENT"],
    ["C = 0", () => fitLogisticRegression(Float64Array.from([1, 2]), 2, 1, [0, 1], { c: 0 }), "INVALID_ARGUMENT"],
    ["too few iterations", () => fitLogisticRegression(fixtureMatrix().x, fixture.y.length, 5, fixture.y, { maxIterations: 1 }), "NOT_CONVERGED"],
  ];
  for (const [name, run, code] of cases) {
    assert.throws(run, (err: unknown) => err instanceof TrainerError && err.code === code, name);
  }
});

test("perfectly separable data still converges thanks to the L2 penalty", () => {
  // Without a penalty the optimum is at infinity; with C = 1 it is finite and Newton reaches it.
  const x = Float64Array.from([-2, -1, 1, 2]);
  const model = fitLogisticRegression(x, 4, 1, [0, 0, 1, 1]);
  assert.ok(Number.isFinite(model.weights[0]!) && model.weights[0]! > 0);
  close(model.intercept, 0, 1e-9, "symmetric data: intercept 0");
});
