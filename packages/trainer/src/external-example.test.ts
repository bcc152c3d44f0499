import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { FeatureStatus, FeatureValueSchema } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { createRandom } from "./random.js";
import { createTrainer, parseTrainerSpec } from "./trainers.js";
import { numericSignature, trainChallenger } from "./train-challenger.js";
import type { TrainingSet } from "./training-set.js";

// Runs examples/external-trainer (scikit-learn GradientBoostingClassifier + skl2onnx) through the
// external-trainer contract and scores its TreeEnsembleClassifier (ai.onnx.ml) with onnxruntime-node.
// Needs the example's virtualenv: python3 -m venv .loopline/venv-trainer &&
// .loopline/venv-trainer/bin/pip install -r examples/external-trainer/requirements.txt

const script = fileURLToPath(new URL("../../../examples/external-trainer/train.sh", import.meta.url));
const python = fileURLToPath(new URL("../../../.loopline/venv-trainer/bin/python", import.meta.url));
const skip = existsSync(python) || process.env["LOOPLINE_TRAINER_PYTHON"] !== undefined ? false : `no ${python} (see examples/external-trainer/README.md)`;

/** An interaction (x1·x2 > 0) a linear model cannot learn and shallow trees can. */
function xorSet(n: number): TrainingSet {
  const random = createRandom(5);
  const num = (value: number) => create(FeatureValueSchema, { kind: { case: "number", value } });
  return {
    featureRefs: ["v:x1", "v:x2"],
    query: "synthetic xor",
    examples: Array.from({ length: n }, (_, i) => {
      const x1 = random.next() * 2 - 1;
      const x2 = random.next() * 2 - 1;
      const label = (x1 * x2 > 0 ? 0.9 : 0.1) > random.next() ? 1 : 0;
      return { id: `r${i}`, timeMs: i, values: [num(x1), num(x2)], statuses: [FeatureStatus.PRESENT, FeatureStatus.PRESENT], label };
    }),
  };
}

test("the Python gradient-boosting example trains through the contract and its ONNX trees score in onnxruntime-node", { skip, timeout: 120_000 }, async () => {
  const set = xorSet(1200);
  const signature = numericSignature(set.featureRefs);
  const boosted = await trainChallenger({ model: "xor", trainer: createTrainer(parseTrainerSpec(`command:${script}`)), set, signature, measureLatency: false });
  const linear = await trainChallenger({ model: "xor", trainer: createTrainer(parseTrainerSpec("builtin:logistic")), set, signature, measureLatency: false });
  // The true AUC of the generating process is about 0.9; a linear model sees no signal (about 0.5).
  assert.ok((boosted.holdout.auc ?? 0) > 0.8, `boosted holdout AUC ${boosted.holdout.auc}`);
  assert.ok((linear.holdout.auc ?? 1) < 0.65, `linear holdout AUC ${linear.holdout.auc}`);
  // What sklearn measured on the same holdout rows agrees with onnxruntime's scores of the exported trees.
  const reported = boosted.metrics["reported_auc"];
  assert.ok(reported !== undefined && Math.abs(reported - (boosted.holdout.auc ?? 0)) < 1e-3, `sklearn ${reported} vs onnxruntime ${boosted.holdout.auc}`);
  assert.equal(boosted.lineage.source, `external:${script}`);
});
