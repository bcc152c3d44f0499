// Models and signatures shared by the registry's tests and benchmark (not part of the public API).
import { readFileSync } from "node:fs";
import { fromJson, create } from "@bufbuild/protobuf";
import { InputEncoding, ModelSignatureSchema, type ModelSignature } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { encodeOnnxModel, exportLogisticRegressionOnnx } from "@loopline/trainer";

const FIXTURES = new URL("../fixtures/sklearn/", import.meta.url);

/** The scikit-learn LogisticRegression fixture (skl2onnx, zipmap=False) with its signature and profile. */
export function sklearnFixture(): { onnx: Uint8Array; signature: ModelSignature; profile: Uint8Array; expected: { rows: number[][]; probabilities: number[][] } } {
  return {
    onnx: readFileSync(new URL("logistic.onnx", FIXTURES)),
    signature: fromJson(ModelSignatureSchema, JSON.parse(readFileSync(new URL("signature.json", FIXTURES), "utf8")) as never),
    profile: readFileSync(new URL("profile.json", FIXTURES)),
    expected: JSON.parse(readFileSync(new URL("expected.json", FIXTURES), "utf8")) as { rows: number[][]; probabilities: number[][] },
  };
}

/** A signature of `columns` numeric features t:f0..t:fN feeding tensor `input`, score probability[:, 1] in [0, 1]. */
export function numericSignature(columns: number, input = "features", scoreOutput = "probability", scoreIndex = 1): ModelSignature {
  return create(ModelSignatureSchema, {
    inputTensor: input,
    inputs: Array.from({ length: columns }, (_, i) => ({ featureRef: `t:f${i}`, encoding: InputEncoding.NUMBER })),
    outputs: [{ name: scoreOutput, meaning: "P(class 1)" }],
    scoreOutput,
    scoreIndex,
    threshold: 0.5,
    scoreMin: 0,
    scoreMax: 1,
  });
}

/** A logistic regression on `columns` columns exported by packages/trainer. */
export function trainerModel(columns = 3, intercept = 0.1): Uint8Array {
  return exportLogisticRegressionOnnx({ weights: Array.from({ length: columns }, (_, i) => (i % 2 === 0 ? 0.5 : -0.25)), intercept });
}

/** A model that loads and matches a 2-column signature but outputs NaN for every row. */
export function nanModel(): Uint8Array {
  return encodeOnnxModel({
    graphName: "nan",
    inputs: [{ name: "features", columns: 2 }],
    outputs: [{ name: "probability", columns: 2 }],
    initializers: [{ name: "nan", dims: [1], values: [Number.NaN] }],
    nodes: [
      { op: "Mul", inputs: ["features", "nan"], outputs: ["poisoned"] },
      { op: "Sigmoid", inputs: ["poisoned"], outputs: ["probability"] },
    ],
  });
}

/** A valid model of roughly `megabytes` MB: [N, 4] → MatMul [4, H] → Relu → MatMul [H, 1] → Sigmoid, output probability [N, 1]. */
export function largeModel(megabytes: number): Uint8Array {
  const hidden = Math.ceil((megabytes * 1024 * 1024) / 4 / 5);
  const w1 = Array.from({ length: 4 * hidden }, (_, i) => ((i % 7) - 3) * 1e-4);
  const w2 = Array.from({ length: hidden }, (_, i) => ((i % 5) - 2) * 1e-4);
  return encodeOnnxModel({
    graphName: "large",
    inputs: [{ name: "features", columns: 4 }],
    outputs: [{ name: "probability", columns: 1 }],
    initializers: [
      { name: "w1", dims: [4, hidden], values: w1 },
      { name: "w2", dims: [hidden, 1], values: w2 },
    ],
    nodes: [
      { op: "MatMul", inputs: ["features", "w1"], outputs: ["h"] },
      { op: "Relu", inputs: ["h"], outputs: ["r"] },
      { op: "MatMul", inputs: ["r", "w2"], outputs: ["z"] },
      { op: "Sigmoid", inputs: ["z"], outputs: ["probability"] },
    ],
  });
}
