import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { profileFromJson } from "@loopline/drift";
import { FeatureStatus, FeatureValueSchema } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { TrainerError } from "./errors.js";
import { fixture } from "./fixture.test-helper.js";
import { exportLogisticRegressionOnnx } from "./logistic-regression-onnx.js";
import { createRandom } from "./random.js";
import { createTrainer, parseTrainerSpec } from "./trainers.js";
import { numericSignature, trainChallenger } from "./train-challenger.js";
import { splitHoldout, trainingSetSha256, type TrainingSet } from "./training-set.js";

const refs = ["v:a", "v:b", "v:c", "v:d", "v:e"];
const num = (value: number) => create(FeatureValueSchema, { kind: { case: "number", value } });

/** The scikit-learn fixture as served rows (ids r0…). */
function fixtureSet(): TrainingSet {
  return {
    featureRefs: refs,
    query: "fixture",
    examples: fixture.x.map((row, i) => ({ id: `r${i}`, timeMs: i, values: row.map(num), statuses: row.map(() => FeatureStatus.PRESENT), label: fixture.y[i]! })),
  };
}

test("the holdout split depends only on row id and seed", () => {
  const set = fixtureSet();
  const a = splitHoldout(set, 0.25, 7);
  const reversed = { ...set, examples: [...set.examples].reverse() };
  const b = splitHoldout(reversed, 0.25, 7);
  const ids = (s: TrainingSet, rows: number[]) => new Set(rows.map((r) => s.examples[r]!.id));
  assert.deepEqual(ids(set, a.holdout), ids(reversed, b.holdout));
  const share = a.holdout.length / set.examples.length;
  assert.ok(share > 0.15 && share < 0.35, `holdout share ${share}`);
  assert.notDeepEqual(splitHoldout(set, 0.25, 8).holdout, a.holdout, "another seed, another split");
});

test("the data hash changes with any value, label or order, and not otherwise", () => {
  const set = fixtureSet();
  const h = trainingSetSha256(set);
  assert.equal(trainingSetSha256(fixtureSet()), h);
  const relabelled = { ...set, examples: set.examples.map((e, i) => (i === 3 ? { ...e, label: 1 - e.label } : e)) };
  assert.notEqual(trainingSetSha256(relabelled), h);
  assert.notEqual(trainingSetSha256({ ...set, examples: [...set.examples].reverse() }), h);
  assert.match(h, /^[0-9a-f]{64}$/);
});

test("a built-in challenger: ONNX holdout metrics, threshold, profile with a score column, lineage", async () => {
  const set = fixtureSet();
  const trained = await trainChallenger({ model: "m", trainer: createTrainer(parseTrainerSpec("builtin:logistic")), set, signature: numericSignature(refs), threshold: "max_f1", measureLatency: true });
  assert.equal(trained.split.holdout.length + trained.split.train.length, set.examples.length);
  assert.equal(trained.holdout.rows, trained.split.holdout.length);
  assert.ok(trained.holdout.auc !== undefined && trained.holdout.auc > 0.75, `holdout AUC ${trained.holdout.auc}`);
  assert.ok(trained.signature.threshold > 0 && trained.signature.threshold < 1);
  assert.equal(trained.metrics["auc"], trained.holdout.auc);
  assert.ok((trained.metrics["latency_p50_ms"] ?? Infinity) < 50);
  const profile = profileFromJson(JSON.parse(new TextDecoder().decode(trained.profile)));
  assert.deepEqual(profile.columns.map((c) => c.name), [...refs, "score"]);
  assert.equal(profile.columns[5]?.rowCount, trained.split.train.length);
  assert.equal(trained.lineage.trainingRows, set.examples.length);
  assert.equal(trained.lineage.trainingDataSha256, trainingSetSha256(set));
  assert.equal(trained.lineage.source, "loopline-trainer/logistic-regression");
});

test("an external trainer receives the CSV and spec and its model.onnx is judged like a built-in one", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "loopline-ext-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A stand-in trainer: checks its arguments, writes a fixed model (weights from scikit-learn's C=1 fit) and metrics.
  const c1 = fixture.cases[0]!;
  await writeFile(join(dir, "model.onnx"), exportLogisticRegressionOnnx({ weights: c1.coef, intercept: c1.intercept, means: fixture.means, scales: fixture.scales }));
  const script = join(dir, "train.sh");
  await writeFile(
    script,
    [
      "#!/bin/sh",
      "set -e",
      'head -1 "$1" | grep -q "^v:a,v:b,v:c,v:d,v:e,label,split$"',
      'grep -q \'"label_column": "label"\' "$2"',
      'mkdir -p "$3"',
      `cp ${join(dir, "model.onnx")} "$3/model.onnx"`,
      'echo \'{"auc": 0.5, "note": "ignored"}\' > "$3/metrics.json"',
    ].join("\n"),
  );
  await chmod(script, 0o755);
  const trained = await trainChallenger({ model: "m", trainer: createTrainer(parseTrainerSpec(`command:${script}`)), set: fixtureSet(), signature: numericSignature(refs), measureLatency: false });
  assert.equal(trained.metrics["reported_auc"], 0.5, "what the trainer claimed is kept apart");
  assert.ok((trained.holdout.auc ?? 0) > 0.75, "what Loopline measured is the holdout metric");
  assert.equal(trained.lineage.source, `external:${script}`);

  const failing = join(dir, "fail.sh");
  await writeFile(failing, "#!/bin/sh\necho boom >&2\nexit 3\n");
  await chmod(failing, 0o755);
  await assert.rejects(
    trainChallenger({ model: "m", trainer: createTrainer(parseTrainerSpec(`command:${failing}`)), set: fixtureSet(), signature: numericSignature(refs), measureLatency: false }),
    (err: unknown) => err instanceof TrainerError && err.code === "EXTERNAL_TRAINER_FAILED" && /exited 3.*boom/s.test(err.message),
  );
});

test("trainer specs: one line switches the trainer; bad ones are named", () => {
  assert.deepEqual(parseTrainerSpec("builtin:logistic"), { kind: "logistic" });
  assert.deepEqual(parseTrainerSpec(" builtin:gbt "), { kind: "gbt" });
  assert.deepEqual(parseTrainerSpec("command:examples/external-trainer/train.sh"), { kind: "command", command: "examples/external-trainer/train.sh" });
  for (const bad of ["", "builtin:svm", "command:", "logistic"]) {
    assert.throws(() => parseTrainerSpec(bad), (err: unknown) => err instanceof TrainerError && err.code === "INVALID_TRAINER", bad);
  }
});

test("builtin:gbt learns an interaction a linear model cannot, and its tree ensemble is judged by onnxruntime", async () => {
  const random = createRandom(5);
  const set: TrainingSet = {
    featureRefs: ["v:x1", "v:x2"],
    query: "synthetic xor",
    examples: Array.from({ length: 1200 }, (_, i) => {
      const x1 = random.next() * 2 - 1;
      const x2 = random.next() * 2 - 1;
      // P(1) = 0.9 in the quadrants where x1·x2 > 0, else 0.1: the best possible AUC is 0.9.
      return { id: `r${i}`, timeMs: i, values: [num(x1), num(x2)], statuses: [FeatureStatus.PRESENT, FeatureStatus.PRESENT], label: (x1 * x2 > 0 ? 0.9 : 0.1) > random.next() ? 1 : 0 };
    }),
  };
  const signature = numericSignature(set.featureRefs);
  const gbt = await trainChallenger({ model: "xor", trainer: createTrainer(parseTrainerSpec("builtin:gbt"), { gbt: { trees: 50, maxDepth: 2 } }), set, signature, measureLatency: false });
  const linear = await trainChallenger({ model: "xor", trainer: createTrainer(parseTrainerSpec("builtin:logistic")), set, signature, measureLatency: false });
  assert.ok((gbt.holdout.auc ?? 0) > 0.8, `gbt holdout AUC ${gbt.holdout.auc}`);
  assert.ok((linear.holdout.auc ?? 1) < 0.65, `linear holdout AUC ${linear.holdout.auc}`);
  assert.equal(gbt.lineage.source, "loopline-trainer/gradient-boosting");
  assert.equal(gbt.lineage.attributes["trees"], "50");
});
