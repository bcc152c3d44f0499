import assert from "node:assert/strict";
import { test } from "node:test";
import { clone, create } from "@bufbuild/protobuf";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { InputEncoding, ModelSignatureSchema } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { exportLinearRegressionOnnx } from "@loopline/trainer";
import { RegistryError } from "./errors.js";
import { checkSignature, signatureColumns } from "./signature.js";
import { nanModel, numericSignature, sklearnFixture, trainerModel } from "./test-models.js";
import { validateArtifact } from "./validation.js";

const empty = new Uint8Array();

test("a model exported by packages/trainer that matches its signature is READY", async () => {
  const outcome = await validateArtifact(trainerModel(3), numericSignature(3), empty);
  assert.equal(outcome.ok, true, outcome.reason);
  assert.match(outcome.summary, /input features float32 \[N, 3\]/);
  assert.match(outcome.summary, /smoke inference on \d+ rows from defaults \(no reference profile/);
});

test("the scikit-learn fixture (skl2onnx) is READY, smoke-tested on rows from its reference profile", async () => {
  const fixture = sklearnFixture();
  assert.equal(signatureColumns(fixture.signature), 4);
  const outcome = await validateArtifact(fixture.onnx, fixture.signature, fixture.profile);
  assert.equal(outcome.ok, true, outcome.reason);
  assert.match(outcome.summary, /rows from reference profile:/);
  // The fixture computes in onnxruntime what scikit-learn's predict_proba gave (recorded by make_fixture.py).
  const session = await InferenceSession.create(fixture.onnx);
  const out = await session.run({ X: new Tensor("float32", Float32Array.from(fixture.expected.rows.flat()), [3, 4]) });
  const probabilities = Array.from(out["probabilities"]?.data as Float32Array);
  fixture.expected.probabilities.flat().forEach((p, i) => assert.ok(Math.abs((probabilities[i] as number) - p) < 1e-5, `${probabilities[i]} ≠ ${p}`));
  await session.release();
});

test("models that do not fit their signature, or misbehave, are REJECTED with the reason", async () => {
  const bytes = trainerModel(3);
  const fixture = sklearnFixture();
  const cases: [string, Uint8Array, ReturnType<typeof numericSignature>, RegExp][] = [
    ["truncated file", bytes.subarray(0, Math.floor(bytes.length / 2)), numericSignature(3), /does not load in onnxruntime/],
    ["not ONNX at all", Buffer.from("hello, I am not a model"), numericSignature(3), /does not load in onnxruntime/],
    ["column count", bytes, numericSignature(4), /has 3 columns, the signature's inputs take 4/],
    ["input name", bytes, numericSignature(3, "X"), /the model takes features; the signature describes one input X/],
    ["score output", bytes, numericSignature(3, "features", "scores"), /score_output scores is not among the model's outputs \(probability\)/],
    ["score index", bytes, numericSignature(3, "features", "probability", 2), /score_index 2 is outside probability/],
    ["NaN outputs", nanModel(), numericSignature(2), /output probability holds NaN/],
    ["score outside range", exportLinearRegressionOnnx({ weights: [1, 1], intercept: 5 }), numericSignature(2, "features", "prediction", 0), /score 5 is outside \[0, 1\]/],
    ["int64 score", fixture.onnx, clone(ModelSignatureSchema, { ...fixture.signature, scoreOutput: "label", outputs: [] }), /label is int64; a score must be a float tensor/],
  ];
  for (const [name, model, signature, reason] of cases) {
    const outcome = await validateArtifact(model, signature, empty);
    assert.equal(outcome.ok, false, name);
    assert.match(outcome.reason, reason, name);
  }
});

test("a one-hot signature counts one column per category", () => {
  const signature = create(ModelSignatureSchema, {
    inputs: [
      { featureRef: "a:x", encoding: InputEncoding.NUMBER },
      { featureRef: "a:c", encoding: InputEncoding.ONE_HOT, categories: ["r", "g", "b"] },
    ],
  });
  assert.equal(signatureColumns(signature), 4);
});

test("malformed signatures are INVALID_ARGUMENT naming the field", () => {
  const good = numericSignature(2);
  const cases: [string, (s: typeof good) => void, RegExp][] = [
    ["no tensor", (s) => (s.inputTensor = ""), /signature.input_tensor/],
    ["no inputs", (s) => (s.inputs = []), /signature.inputs: at least one/],
    ["bad ref", (s) => ((s.inputs[0] as { featureRef: string }).featureRef = "amount"), /inputs\[0\].feature_ref: "amount" is not "view:feature"/],
    ["duplicate ref", (s) => ((s.inputs[1] as { featureRef: string }).featureRef = "t:f0"), /inputs\[1\].feature_ref: t:f0 appears twice/],
    ["no encoding", (s) => ((s.inputs[0] as { encoding: InputEncoding }).encoding = InputEncoding.UNSPECIFIED), /inputs\[0\].encoding/],
    ["empty one-hot", (s) => ((s.inputs[0] as { encoding: InputEncoding }).encoding = InputEncoding.ONE_HOT), /inputs\[0\].categories/],
    ["no range", (s) => ((s.scoreMin = 0), (s.scoreMax = 0)), /signature.score_max: the score range \[0, 0\] is empty/],
    ["undeclared score", (s) => (s.scoreOutput = "other"), /score_output: other is not among signature.outputs/],
  ];
  for (const [name, mutate, message] of cases) {
    const s = clone(ModelSignatureSchema, good);
    mutate(s);
    assert.throws(() => checkSignature(s), (err: unknown) => err instanceof RegistryError && err.code === "INVALID_ARGUMENT" && message.test(err.message), name);
  }
  assert.throws(() => checkSignature(undefined), /signature: is required/);
});
