import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { GrpcError, GrpcStatus } from "@loopline/proto";
import { ModelEventType, Stage, VersionStatus } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { cleanupInReverse, eventually, isolateStack, startPrivateKafka } from "@loopline/testkit";
import { sha256Hex } from "./artifact-store.js";
import { eventKey } from "./event-log.js";
import { stageName } from "./transitions.js";
import { promote, registerOverGrpc, startRegistry, tempArtifactDir } from "./test-harness.js";
import { nanModel, numericSignature, sklearnFixture, trainerModel } from "./test-models.js";

const status = (code: number) => (err: unknown) => err instanceof GrpcError && err.code === code;

test("registers models from packages/trainer and scikit-learn, serves their bytes, stores identical uploads once", async (t) => {
  const stack = await isolateStack(t);
  const artifactDir = await tempArtifactDir(t);
  const reg = await startRegistry({ topicPrefix: stack.topicPrefix, artifactDir });
  t.after(() => reg.stop());
  const onnx = trainerModel(3);
  const first = await registerOverGrpc(reg.client, "fraud", onnx, numericSignature(3), { chunkBytes: 100, metrics: { auc: 0.91 }, source: "loopline-trainer/logistic-regression" });
  assert.equal(first.version.version, "1");
  assert.equal(first.version.status, VersionStatus.READY, first.version.statusReason);
  assert.equal(first.version.stage, Stage.CANDIDATE);
  assert.equal(first.version.artifactSha256, sha256Hex(onnx));
  assert.equal(first.version.artifactSize, BigInt(onnx.length));
  assert.equal(first.deduplicated, false);
  assert.deepEqual(first.version.metrics, { auc: 0.91 });

  const again = await registerOverGrpc(reg.client, "fraud", onnx, numericSignature(3));
  assert.equal(again.version.version, "2");
  assert.equal(again.deduplicated, true);

  const sk = sklearnFixture();
  const skl = await registerOverGrpc(reg.client, "fraud-skl", sk.onnx, sk.signature, { profile: sk.profile, source: "sklearn/skl2onnx" });
  assert.equal(skl.version.status, VersionStatus.READY, skl.version.statusReason);
  assert.match(skl.version.validationSummary, /input X float32/);
  assert.match(skl.version.validationSummary, /from reference profile/);

  const chunks = [];
  let sha = "";
  for await (const part of reg.client.getArtifact({ model: "fraud-skl", version: "1" })) {
    if (part.sha256 !== "") sha = part.sha256;
    chunks.push(part.chunk);
  }
  assert.deepEqual(Buffer.concat(chunks), Buffer.from(sk.onnx));
  assert.equal(sha, sha256Hex(sk.onnx));

  const models = (await reg.client.listModels({})).models.map((m) => [m.name, m.latestVersion, m.versionCount]);
  assert.deepEqual(models, [["fraud", "2", 2], ["fraud-skl", "1", 1]]);
});

test("a truncated file, a model that does not match its signature and one that outputs NaN are REJECTED and never promotable", async (t) => {
  const stack = await isolateStack(t);
  const reg = await startRegistry({ topicPrefix: stack.topicPrefix, artifactDir: await tempArtifactDir(t) });
  t.after(() => reg.stop());
  const onnx = trainerModel(3);
  const cases: [string, Uint8Array, ReturnType<typeof numericSignature>, RegExp][] = [
    ["truncated", onnx.subarray(0, onnx.length - 40), numericSignature(3), /does not load in onnxruntime/],
    ["columns", onnx, numericSignature(5), /has 3 columns, the signature's inputs take 5/],
    ["nan", nanModel(), numericSignature(2), /holds NaN/],
  ];
  for (const [name, bytes, signature, reason] of cases) {
    const { version } = await registerOverGrpc(reg.client, name, bytes, signature);
    assert.equal(version.status, VersionStatus.REJECTED, name);
    assert.match(version.statusReason, reason, name);
    for (const to of [Stage.SHADOW, Stage.CANARY, Stage.PRODUCTION]) {
      await assert.rejects(promote(reg.client, name, "1", to), status(GrpcStatus.FAILED_PRECONDITION), `${name} → ${Stage[to]}`);
    }
    const history = (await reg.client.getHistory({ model: name })).events;
    assert.deepEqual(history.map((e) => e.type), [ModelEventType.VERSION_REJECTED]);
  }
  // A malformed request is refused outright, not recorded.
  await assert.rejects(registerOverGrpc(reg.client, "bad/name", onnx, numericSignature(3)), status(GrpcStatus.INVALID_ARGUMENT));
  await assert.rejects(reg.client.getModel({ name: "nope" }), status(GrpcStatus.NOT_FOUND));
});

test("invariants hold across restarts: one production version, promotion archives, rollback swaps back, history complete", async (t) => {
  const stack = await isolateStack(t);
  const artifactDir = await tempArtifactDir(t);
  let reg = await startRegistry({ topicPrefix: stack.topicPrefix, artifactDir });
  t.after(() => reg.stop());
  const restart = async () => {
    await reg.stop();
    reg = await startRegistry({ topicPrefix: stack.topicPrefix, artifactDir });
  };
  const stages = async () => (await reg.client.listVersions({ model: "churn" })).versions.map((v) => Stage[v.stage]);

  await registerOverGrpc(reg.client, "churn", trainerModel(3, 0.1), numericSignature(3));
  await registerOverGrpc(reg.client, "churn", trainerModel(3, 0.2), numericSignature(3));
  await promote(reg.client, "churn", "1", Stage.PRODUCTION);
  await restart();
  assert.deepEqual(await stages(), ["PRODUCTION", "CANDIDATE"]);

  await promote(reg.client, "churn", "2", Stage.CANARY);
  const promoted = await promote(reg.client, "churn", "2", Stage.PRODUCTION);
  assert.equal(promoted.previousProductionVersion, "1");
  await restart();
  assert.deepEqual(await stages(), ["ARCHIVED", "PRODUCTION"]);
  assert.equal((await reg.client.getModel({ name: "churn" })).model?.productionVersion, "2");
  assert.equal((await reg.client.getVersion({ model: "churn", alias: "production" })).version?.version, "2");

  await assert.rejects(promote(reg.client, "churn", "2", Stage.ARCHIVED), status(GrpcStatus.FAILED_PRECONDITION));
  const rolled = await reg.client.rollback({ model: "churn", reason: "auc fell", evidenceJson: '{"auc":0.61}', actor: "oncall" });
  assert.equal(rolled.production?.version, "1");
  assert.equal(rolled.rolledBackVersion, "2");
  await restart();
  assert.deepEqual(await stages(), ["PRODUCTION", "ARCHIVED"]);

  const history = (await reg.client.getHistory({ model: "churn" })).events;
  assert.deepEqual(
    history.map((e) => [e.sequence, ModelEventType[e.type], e.version, Stage[e.fromStage], Stage[e.toStage]]),
    [
      [1n, "VERSION_REGISTERED", "1", "UNSPECIFIED", "CANDIDATE"],
      [2n, "VERSION_REGISTERED", "2", "UNSPECIFIED", "CANDIDATE"],
      [3n, "STAGE_CHANGED", "1", "CANDIDATE", "PRODUCTION"],
      [4n, "STAGE_CHANGED", "2", "CANDIDATE", "CANARY"],
      [5n, "STAGE_CHANGED", "1", "PRODUCTION", "ARCHIVED"],
      [6n, "STAGE_CHANGED", "2", "CANARY", "PRODUCTION"],
      [7n, "ROLLED_BACK", "2", "PRODUCTION", "ARCHIVED"],
      [8n, "ROLLED_BACK", "1", "ARCHIVED", "PRODUCTION"],
    ],
  );
  assert.equal(history.at(-1)?.actor, "oncall");
  assert.equal(history.at(-1)?.evidenceJson, '{"auc":0.61}');
  // Every event survived on the compacted topic under its own key.
  const end = await stack.kafka.topicEndOffsets(`${stack.topicPrefix}models`);
  assert.equal(end[0]?.offset, "8");
  assert.equal(eventKey({ model: "churn", sequence: 8n }), "churn/00000000000000000008");
});

test("racing promotions: exactly one wins, the other gets FAILED_PRECONDITION or ABORTED", async (t) => {
  const stack = await isolateStack(t);
  const reg = await startRegistry({ topicPrefix: stack.topicPrefix, artifactDir: await tempArtifactDir(t) });
  t.after(() => reg.stop());
  for (let i = 0; i < 4; i++) await registerOverGrpc(reg.client, "race", trainerModel(3, i / 10), numericSignature(3));
  await promote(reg.client, "race", "1", Stage.PRODUCTION);
  for (const v of ["2", "3", "4"]) await promote(reg.client, "race", v, Stage.CANARY);

  // The same version, promoted twice from canary at once: the loser's expected_stage is stale.
  const same = await Promise.allSettled([1, 2].map(() =>
    reg.client.transitionStage({ model: "race", version: "2", toStage: Stage.PRODUCTION, expectedStage: Stage.CANARY, actor: "a" }),
  ));
  assert.equal(same.filter((r) => r.status === "fulfilled").length, 1);
  assert.ok(same.some((r) => r.status === "rejected" && status(GrpcStatus.FAILED_PRECONDITION)(r.reason)));

  // Two versions, both believing version 2 is production: one wins, the other is ABORTED.
  const rivals = await Promise.allSettled(["3", "4"].map((v) =>
    reg.client.transitionStage({ model: "race", version: v, toStage: Stage.PRODUCTION, expectedStage: Stage.CANARY, expectedProductionVersion: "2", actor: v }),
  ));
  assert.equal(rivals.filter((r) => r.status === "fulfilled").length, 1);
  assert.ok(rivals.some((r) => r.status === "rejected" && status(GrpcStatus.ABORTED)(r.reason)));
  const production = (await reg.client.listVersions({ model: "race", stage: Stage.PRODUCTION })).versions;
  assert.equal(production.length, 1);
});

test("with a token, writes need it (UNAUTHENTICATED otherwise) and reads stay open", async (t) => {
  const stack = await isolateStack(t);
  const reg = await startRegistry({ topicPrefix: stack.topicPrefix, artifactDir: await tempArtifactDir(t), token: "s3cret" });
  t.after(() => reg.stop());
  await assert.rejects(registerOverGrpc(reg.client, "secure", trainerModel(3), numericSignature(3)), status(GrpcStatus.UNAUTHENTICATED));
  await assert.rejects(registerOverGrpc(reg.client, "secure", trainerModel(3), numericSignature(3), { token: "wrong" }), status(GrpcStatus.UNAUTHENTICATED));
  const { version } = await registerOverGrpc(reg.client, "secure", trainerModel(3), numericSignature(3), { token: "s3cret" });
  assert.equal(version.status, VersionStatus.READY);
  await assert.rejects(promote(reg.client, "secure", "1", Stage.SHADOW), status(GrpcStatus.UNAUTHENTICATED));
  await promote(reg.client, "secure", "1", Stage.SHADOW, { token: "s3cret" });
  assert.equal((await reg.client.getVersion({ model: "secure", version: "1" })).version?.stage, Stage.SHADOW);
});

test("watchers get the history from a sequence, then live changes; a corrupted artifact is reported, not served", async (t) => {
  const stack = await isolateStack(t);
  const artifactDir = await tempArtifactDir(t);
  const reg = await startRegistry({ topicPrefix: stack.topicPrefix, artifactDir });
  t.after(() => reg.stop());
  const onnx = trainerModel(3);
  await registerOverGrpc(reg.client, "watched", onnx, numericSignature(3));
  await promote(reg.client, "watched", "1", Stage.SHADOW);

  const controller = new AbortController();
  const seen: [bigint, string][] = [];
  const reading = (async () => {
    for await (const { event } of reg.client.watchChanges({ fromSequence: 2n, model: "watched" }, { signal: controller.signal })) {
      seen.push([event?.sequence ?? 0n, stageName(event?.toStage ?? Stage.UNSPECIFIED)]);
      if (seen.length === 2) break;
    }
  })();
  await promote(reg.client, "watched", "1", Stage.CANARY);
  await reading;
  controller.abort();
  assert.deepEqual(seen, [[2n, "shadow"], [3n, "canary"]]);

  await writeFile(join(artifactDir, "sha256", sha256Hex(onnx).slice(0, 2), sha256Hex(onnx)), "tampered");
  const read = async () => {
    for await (const part of reg.client.getArtifact({ model: "watched", version: "1" })) void part;
  };
  await assert.rejects(read(), (err: unknown) => err instanceof GrpcError && err.code === GrpcStatus.DATA_LOSS && /corrupted/.test(err.message));
});

test("Kafka down: reads still answer, a write gets UNAVAILABLE, and writes work again once Kafka is back", async (t) => {
  const later = cleanupInReverse(t); // the broker closes last, after the registry's clients
  const broker = await startPrivateKafka();
  later(broker.close);
  const reg = await startRegistry({ topicPrefix: "outage.", artifactDir: await tempArtifactDir(t), brokers: broker.brokers });
  later(reg.stop);
  await registerOverGrpc(reg.client, "fraud", trainerModel(3), numericSignature(3));

  await broker.kill();
  assert.equal((await reg.client.getVersion({ model: "fraud", version: "1" })).version?.status, VersionStatus.READY, "reads come from memory");
  // Refused once the producer's retries run out (about 20 s here), well inside this call's deadline.
  await assert.rejects(
    reg.client.setTags({ model: "fraud", version: "1", tags: { during: "outage" }, actor: "test" }, { timeoutMs: 90_000 }),
    (err: unknown) => err instanceof GrpcError && err.code === GrpcStatus.UNAVAILABLE && /kafka did not acknowledge/.test(err.message),
  );

  await broker.start();
  await eventually(
    () => reg.client.setTags({ model: "fraud", version: "1", tags: { after: "outage" }, actor: "test" }),
    () => true,
    { timeoutMs: 60_000, what: "a write accepted after the outage" },
  );
  // The refused change was never applied: not in memory then, not after the registry read the log
  // to its end before the next write.
  assert.deepEqual((await reg.client.getVersion({ model: "fraud", version: "1" })).version?.tags, { after: "outage" });
  const history = await reg.client.getHistory({ model: "fraud" });
  assert.ok(history.events.some((e) => e.type === ModelEventType.TAGS_SET), "the accepted change is in the history");
});
