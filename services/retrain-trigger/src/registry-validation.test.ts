import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { validateArtifact } from "@loopline/model-registry";
import { FeatureStatus, FeatureValueSchema } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { createRandom, createTrainer, numericSignature, parseTrainerSpec, trainChallenger, type TrainingSet } from "@loopline/trainer";

// What retrain-trigger registers must pass model-registry's validation (load, signature fit, smoke
// inference from the reference profile): checked here with the registry's own validator.

function set(): TrainingSet {
  const random = createRandom(9);
  const num = (value: number) => create(FeatureValueSchema, { kind: { case: "number", value } });
  return {
    featureRefs: ["card_txn:a", "card_txn:b", "card_txn:c"],
    query: "synthetic",
    examples: Array.from({ length: 600 }, (_, i) => {
      const row = [random.next() * 100, random.int(10), random.next()];
      const logit = 0.03 * (row[0]! - 50) + 0.3 * (row[1]! - 5);
      return { id: `r${i}`, timeMs: i, values: row.map(num), statuses: row.map(() => FeatureStatus.PRESENT), label: random.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0 };
    }),
  };
}

for (const trainer of ["builtin:logistic", "builtin:gbt"]) {
  test(`a ${trainer} challenger passes the registry's validation`, async () => {
    const trained = await trainChallenger({ model: "m", trainer: createTrainer(parseTrainerSpec(trainer), { gbt: { trees: 20 } }), set: set(), signature: numericSignature(["card_txn:a", "card_txn:b", "card_txn:c"]), measureLatency: false });
    const outcome = await validateArtifact(trained.onnx, trained.signature, trained.profile);
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    assert.match(outcome.summary, /reference profile/);
  });
}
