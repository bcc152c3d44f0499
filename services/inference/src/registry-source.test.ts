import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { silentLogger } from "@loopline/kit";
import { createClient, createGrpcServer, GrpcError, GrpcStatus, implementService } from "@loopline/proto";
import { GRPCInferenceService } from "@loopline/proto/gen/inference/grpc_service_pb.js";
import {
  ModelEventType,
  ModelRegistry,
  ModelVersionSchema,
  Stage,
  VersionStatus,
  type ModelEvent,
  type ModelVersion,
} from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { loadInferenceConfig } from "./config.js";
import { createInferenceService } from "./service.js";
import { createMemorySink } from "./testing/harness.js";
import { linearSigmoidModel } from "./testing/onnx-models.js";

/** A ModelRegistry that holds versions in memory and streams events pushed by the test. */
function fakeRegistry() {
  const versions = new Map<string, ModelVersion>();
  const artifacts = new Map<string, Uint8Array>();
  const events: ModelEvent[] = [];
  const listeners = new Set<() => void>();
  let sequence = 0n;
  const watchCalls: bigint[] = [];
  let dropStreams = false;
  const put = (v: MessageInitShape<typeof ModelVersionSchema>, artifact?: Uint8Array, type = ModelEventType.STAGE_CHANGED) => {
    sequence++;
    const version = create(ModelVersionSchema, { status: VersionStatus.READY, ...v, lastSequence: sequence });
    if (artifact !== undefined) {
      artifacts.set(`${version.model}/${version.version}`, artifact);
      version.artifactSha256 = createHash("sha256").update(artifact).digest("hex");
    } else {
      version.artifactSha256 = versions.get(`${version.model}/${version.version}`)?.artifactSha256 ?? "";
    }
    versions.set(`${version.model}/${version.version}`, version);
    events.push({ $typeName: "loopline.v1.ModelEvent", sequence, timeMs: 0n, type, model: version.model, version: version.version, fromStage: Stage.UNSPECIFIED, toStage: version.stage, actor: "test", reason: "", evidenceJson: "", alias: "", snapshot: version });
    for (const l of listeners) l();
  };
  const binding = implementService(ModelRegistry, {
    listModels: () => ({ models: [...new Set([...versions.values()].map((v) => v.model))].map((name) => ({ name })) }),
    listVersions: (req) => ({ versions: [...versions.values()].filter((v) => v.model === req.model) }),
    async *getArtifact(req) {
      const bytes = artifacts.get(`${req.model}/${req.version}`);
      if (bytes === undefined) throw new GrpcError(GrpcStatus.NOT_FOUND, "no artifact");
      const half = Math.floor(bytes.length / 2);
      yield { chunk: bytes.subarray(0, half), sha256: createHash("sha256").update(bytes).digest("hex"), size: BigInt(bytes.length) };
      yield { chunk: bytes.subarray(half) };
    },
    async *watchChanges(req, ctx) {
      watchCalls.push(req.fromSequence);
      let next = req.fromSequence;
      while (!ctx.signal.aborted) {
        for (const e of events) {
          if (e.sequence >= next) {
            next = e.sequence + 1n;
            yield { event: e };
          }
        }
        if (dropStreams) throw new GrpcError(GrpcStatus.UNAVAILABLE, "registry restarting");
        await new Promise<void>((resolve) => {
          const wake = () => {
            listeners.delete(wake);
            resolve();
          };
          listeners.add(wake);
          ctx.signal.addEventListener("abort", wake, { once: true });
        });
      }
    },
  });
  return {
    binding,
    put,
    watchCalls,
    set dropStreams(v: boolean) {
      dropStreams = v;
      for (const l of listeners) l();
    },
  };
}

test("registry source: initial state, live promotion via WatchChanges, resume after a dropped stream", { timeout: 30_000 }, async (t) => {
  const registry = fakeRegistry();
  registry.put({ model: "fraud", version: "1", stage: Stage.PRODUCTION }, linearSigmoidModel({ weights: [1], bias: 1 }), ModelEventType.VERSION_REGISTERED);
  registry.put({ model: "fraud", version: "2", stage: Stage.CANDIDATE }, linearSigmoidModel({ weights: [1], bias: 2 }), ModelEventType.VERSION_REGISTERED);
  const server = await createGrpcServer({ host: "127.0.0.1", port: 0, services: [registry.binding] });
  t.after(() => server.close(100));

  const config = loadInferenceConfig({
    LOOPLINE_INFERENCE_HOST: "127.0.0.1",
    LOOPLINE_INFERENCE_PORT: "0",
    LOOPLINE_INFERENCE_ADMIN_PORT: "0",
    LOOPLINE_REGISTRY_ADDRESS: `127.0.0.1:${server.port}`,
  });
  const service = createInferenceService(config, { logger: silentLogger, predictionSink: createMemorySink(), getOnlineFeatures: () => Promise.reject(new Error("unused")) });
  await service.start();
  t.after(() => service.close());
  await service.modelsReady();
  const client = createClient(GRPCInferenceService, `127.0.0.1:${service.port}`, { timeoutMs: 5000 });
  t.after(() => client.close());
  const logit = async () => {
    const r = await client.modelInfer({ modelName: "fraud", inputs: [{ name: "x", datatype: "FP32", shape: [1n, 1n], contents: { fp32Contents: [0] } }], outputs: [{ name: "logit" }] });
    return [r.modelVersion, r.outputs[0]?.contents?.fp32Contents[0]];
  };
  assert.deepEqual(await logit(), ["1", 1]);
  assert.equal((await client.serverReady({})).ready, true);
  // The watch started after the listed state: from the highest sequence seen + 1.
  assert.deepEqual(registry.watchCalls, [3n]);

  const waitFor = async (expected: unknown[]) => {
    for (let i = 0; i < 200; i++) {
      await service.repository.idle();
      if (JSON.stringify(await logit()) === JSON.stringify(expected)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(await logit(), expected);
  };
  registry.put({ model: "fraud", version: "2", stage: Stage.PRODUCTION });
  registry.put({ model: "fraud", version: "1", stage: Stage.ARCHIVED });
  await waitFor(["2", 2]);

  // The registry drops the stream; the source reconnects from where it stopped and misses nothing.
  registry.dropStreams = true;
  await new Promise((r) => setTimeout(r, 50));
  registry.dropStreams = false;
  registry.put({ model: "fraud", version: "3", stage: Stage.PRODUCTION }, linearSigmoidModel({ weights: [1], bias: 3 }), ModelEventType.VERSION_REGISTERED);
  registry.put({ model: "fraud", version: "2", stage: Stage.ARCHIVED });
  await waitFor(["3", 3]);
  assert.ok(registry.watchCalls.length >= 2, `watch calls ${registry.watchCalls.join(",")}`);
  assert.equal(registry.watchCalls[1], 5n, "resumed after the last event seen (4), not from the start");
  assert.deepEqual([...(service.repository.slots("fraud")?.versions.keys() ?? [])], ["3"]);
});
