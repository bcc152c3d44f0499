import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { TrainerError } from "./errors.js";
import { fixture, fixtureMatrix } from "./fixture.test-helper.js";
import { fitGradientBoosting, predictGradientBoosting } from "./gradient-boosting.js";
import { exportGradientBoostingOnnx } from "./tree-ensemble-onnx.js";

interface GbtCase {
  name: string;
  params: { n_estimators: number; max_depth: number; learning_rate: number; min_samples_leaf?: number };
  proba: number[];
  init_raw: number;
  first_tree: { feature: number[]; threshold: number[]; value: number[] };
}
const gbt = JSON.parse(readFileSync(new URL("../fixtures/gbt-fixture.json", import.meta.url), "utf8")) as { cases: GbtCase[] };

const options = (c: GbtCase) => ({ trees: c.params.n_estimators, maxDepth: c.params.max_depth, learningRate: c.params.learning_rate, minSamplesLeaf: c.params.min_samples_leaf ?? 1 });

for (const c of gbt.cases) {
  test(`gradient boosting matches scikit-learn's GradientBoostingClassifier (${c.name}) to 1e-6`, () => {
    const { x, rows, columns } = fixtureMatrix();
    const model = fitGradientBoosting(x, rows, columns, fixture.y, options(c));
    assert.ok(Math.abs(model.init - c.init_raw) < 1e-12, `init ${model.init} vs ${c.init_raw}`);
    const first = model.trees[0]!;
    // Same first tree: features (leaves −2 in scikit-learn, −1 here), thresholds (float32 here) and values.
    assert.deepEqual(Array.from(first.feature, (f) => (f < 0 ? -2 : f)), c.first_tree.feature);
    c.first_tree.threshold.forEach((t, i) => t !== -2 && assert.equal(first.threshold[i], Math.fround(t), `threshold ${i}`));
    c.first_tree.value.forEach((v, i) => assert.ok(Math.abs(first.value[i]! - v) < 1e-9, `value ${i}: ${first.value[i]} vs ${v}`));
    const p = predictGradientBoosting(model, x, rows);
    c.proba.forEach((q, i) => assert.ok(Math.abs(p[i]! - q) < 1e-6, `row ${i}: ${p[i]} vs scikit-learn ${q}`));
  });
}

test("the TreeEnsembleClassifier export scored by onnxruntime equals the TypeScript model (1e-6)", async () => {
  const { x, rows, columns } = fixtureMatrix();
  const model = fitGradientBoosting(x, rows, columns, fixture.y, options(gbt.cases[0]!));
  const session = await InferenceSession.create(exportGradientBoostingOnnx(model));
  try {
    assert.deepEqual(session.outputNames, ["probability"]);
    const out = await session.run({ features: new Tensor("float32", Float32Array.from(x), [rows, columns]) });
    const ort = out["probability"]?.data as Float32Array;
    const ts = predictGradientBoosting(model, x, rows);
    for (let i = 0; i < rows; i++) {
      assert.ok(Math.abs(ort[i * 2 + 1]! - ts[i]!) < 1e-6, `row ${i}: onnxruntime ${ort[i * 2 + 1]} vs ${ts[i]}`);
      assert.ok(Math.abs(ort[i * 2]! - (1 - ts[i]!)) < 1e-6, `row ${i}: P(0)`);
    }
  } finally {
    await session.release();
  }
});

test("gradient boosting refuses what it cannot fit", () => {
  const cases: [string, () => unknown, string][] = [
    ["one class", () => fitGradientBoosting(Float64Array.from([1, 2]), 2, 1, [0, 0]), "ONE_CLASS"],
    ["no rows", () => fitGradientBoosting(new Float64Array(0), 0, 1, []), "EMPTY_TRAINING_SET"],
    ["zero trees", () => fitGradientBoosting(Float64Array.from([1, 2]), 2, 1, [0, 1], { trees: 0 }), "INVALID_ARGUMENT"],
    ["infinite cell", () => fitGradientBoosting(Float64Array.from([1, Infinity]), 2, 1, [0, 1]), "INVALID_ARGUMENT"],
  ];
  for (const [name, run, code] of cases) assert.throws(run, (err: unknown) => err instanceof TrainerError && err.code === code, name);
});
