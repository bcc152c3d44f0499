import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { GrpcError, GrpcStatus } from "@loopline/proto";
import { Stage } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { createModelFolder, startHarness, type Harness, type ModelFolder } from "./testing/harness.js";
import { identityModel, linearSigmoidModel, sigmoid } from "./testing/onnx-models.js";

// y = sigmoid(0.5·x0 − 1·x1 + 2·x2 + 0.25), worked by hand below.
const W = [0.5, -1, 2];
const B = 0.25;

let folder: ModelFolder;
let h: Harness;

before(async () => {
  folder = await createModelFolder();
  await folder.write("linear", "1", linearSigmoidModel({ weights: W, bias: B }), { stage: Stage.PRODUCTION });
  await folder.write("typed", "1", identityModel(), { stage: Stage.PRODUCTION });
  await folder.write("fixed", "1", linearSigmoidModel({ weights: [1], bias: 0, batch: 1 }), { stage: Stage.PRODUCTION });
  h = await startHarness({ folder, env: { LOOPLINE_INFERENCE_MAX_BATCH_SIZE: "8" } });
});
after(async () => {
  await h.close();
  await folder.cleanup();
});

const status = (code: number, pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof GrpcError, String(err));
  assert.equal(err.codeName, GrpcStatus[code], err.message);
  assert.match(err.message, pattern);
  return true;
};

test("server and model readiness, metadata in the protocol's terms", async () => {
  assert.deepEqual((await h.oip.serverLive({})).live, true);
  assert.deepEqual((await h.oip.serverReady({})).ready, true);
  assert.equal((await h.oip.modelReady({ name: "linear" })).ready, true);
  assert.equal((await h.oip.modelReady({ name: "linear", version: "1" })).ready, true);
  assert.equal((await h.oip.modelReady({ name: "linear", version: "9" })).ready, false);
  assert.equal((await h.oip.modelReady({ name: "nope" })).ready, false);
  const meta = await h.oip.modelMetadata({ name: "linear" });
  assert.equal(meta.platform, "onnx_onnxv1");
  assert.deepEqual(meta.versions, ["1"]);
  assert.deepEqual(meta.inputs.map((i) => [i.name, i.datatype, i.shape.map(Number)]), [["x", "FP32", [-1, 3]]]);
  assert.deepEqual(meta.outputs.map((o) => [o.name, o.datatype, o.shape.map(Number)]), [["logit", "FP32", [-1, 1]], ["probability", "FP32", [-1, 2]]]);
  const server = await h.oip.serverMetadata({});
  assert.equal(server.name, "loopline-inference");
});

test("ModelInfer with typed contents: outputs worked out by hand", async () => {
  // Row 1: 0.5·2 − 1·1 + 2·0.5 + 0.25 = 1.25. Row 2: 0.5·0 − 1·0 + 2·0 + 0.25 = 0.25.
  const response = await h.oip.modelInfer({
    modelName: "linear",
    id: "req-1",
    inputs: [{ name: "x", datatype: "FP32", shape: [2n, 3n], contents: { fp32Contents: [2, 1, 0.5, 0, 0, 0] } }],
  });
  assert.equal(response.id, "req-1");
  assert.equal(response.modelVersion, "1");
  const logit = response.outputs.find((o) => o.name === "logit");
  const prob = response.outputs.find((o) => o.name === "probability");
  assert.deepEqual(logit?.shape.map(Number), [2, 1]);
  assert.equal(logit?.datatype, "FP32");
  assert.deepEqual(logit?.contents?.fp32Contents, [1.25, 0.25]);
  const expected = [1 - sigmoid(1.25), sigmoid(1.25), 1 - sigmoid(0.25), sigmoid(0.25)];
  prob?.contents?.fp32Contents.forEach((v, i) => assert.ok(Math.abs(v - (expected[i] as number)) < 1e-6, `${v} vs ${expected[i]}`));
});

test("ModelInfer with raw_input_contents answers raw little-endian outputs; requested outputs only", async () => {
  const x = new Float32Array([2, 1, 0.5]);
  const response = await h.oip.modelInfer({
    modelName: "linear",
    inputs: [{ name: "x", datatype: "FP32", shape: [1n, 3n] }],
    outputs: [{ name: "logit" }],
    rawInputContents: [new Uint8Array(x.buffer)],
  });
  assert.deepEqual(response.outputs.map((o) => o.name), ["logit"]);
  const raw = response.rawOutputContents[0] as Uint8Array;
  assert.equal(raw.byteLength, 4);
  assert.equal(Buffer.from(raw).readFloatLE(0), 1.25);
});

test("datatypes convert to what the model takes: FP64, INT64, BOOL into FP32; each type into its own", async () => {
  const cases = [
    { datatype: "FP64", contents: { fp64Contents: [2, 1, 0.5] } },
    { datatype: "INT64", contents: { int64Contents: [2n, 1n, 0n] }, logit: 0.5 * 2 - 1 + 0.25 },
    { datatype: "BOOL", contents: { boolContents: [true, true, false] }, logit: 0.5 - 1 + 0.25 },
    { datatype: "INT32", contents: { intContents: [2, 1, 0] }, logit: 0.5 * 2 - 1 + 0.25 },
  ];
  for (const c of cases) {
    const r = await h.oip.modelInfer({ modelName: "linear", outputs: [{ name: "logit" }], inputs: [{ name: "x", datatype: c.datatype, shape: [1n, 3n], contents: c.contents }] });
    assert.deepEqual(r.outputs[0]?.contents?.fp32Contents, [c.logit ?? 1.25], c.datatype);
  }
  const typed = await h.oip.modelInfer({
    modelName: "typed",
    inputs: [
      { name: "f", datatype: "FP32", shape: [2n, 2n], contents: { fp32Contents: [1.5, -2, 3, 4] } },
      { name: "d", datatype: "FP64", shape: [2n, 1n], contents: { fp64Contents: [0.1, 1e300] } },
      { name: "i", datatype: "INT64", shape: [2n, 1n], contents: { int64Contents: [-(2n ** 62n), 7n] } },
      { name: "b", datatype: "BOOL", shape: [2n, 1n], contents: { boolContents: [true, false] } },
      { name: "s", datatype: "BYTES", shape: [2n, 1n], contents: { bytesContents: [Buffer.from("héllo"), Buffer.from("")] } },
    ],
  });
  const out = Object.fromEntries(typed.outputs.map((o) => [o.name, o]));
  assert.deepEqual(out["f_out"]?.contents?.fp32Contents, [1.5, -2, 3, 4]);
  assert.deepEqual(out["d_out"]?.contents?.fp64Contents, [0.1, 1e300]);
  assert.deepEqual(out["i_out"]?.contents?.int64Contents, [-(2n ** 62n), 7n]);
  assert.deepEqual(out["b_out"]?.contents?.boolContents, [true, false]);
  assert.deepEqual(out["s_out"]?.contents?.bytesContents.map((b) => Buffer.from(b).toString()), ["héllo", ""]);
  assert.equal(out["s_out"]?.datatype, "BYTES");
});

test("raw BYTES and BOOL round-trip through the raw encoding", async () => {
  const str = (s: string) => {
    const body = Buffer.from(s);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    return Buffer.concat([head, body]);
  };
  const r = await h.oip.modelInfer({
    modelName: "typed",
    inputs: [
      { name: "f", datatype: "FP32", shape: [1n, 2n] },
      { name: "d", datatype: "FP64", shape: [1n, 1n] },
      { name: "i", datatype: "INT64", shape: [1n, 1n] },
      { name: "b", datatype: "BOOL", shape: [1n, 1n] },
      { name: "s", datatype: "BYTES", shape: [1n, 1n] },
    ],
    outputs: [{ name: "s_out" }, { name: "b_out" }, { name: "i_out" }],
    rawInputContents: [
      new Uint8Array(new Float32Array([1, 2]).buffer),
      new Uint8Array(new Float64Array([3]).buffer),
      new Uint8Array(new BigInt64Array([-5n]).buffer),
      Uint8Array.from([1]),
      str("raw ✓"),
    ],
  });
  assert.deepEqual(Buffer.from(r.rawOutputContents[0] as Uint8Array), str("raw ✓"));
  assert.deepEqual([...(r.rawOutputContents[1] as Uint8Array)], [1]);
  assert.equal(Buffer.from(r.rawOutputContents[2] as Uint8Array).readBigInt64LE(0), -5n);
});

test("bad requests answer the right status, stating expected and given", async () => {
  const x = (shape: bigint[], values: number[], datatype = "FP32") => ({ name: "x", datatype, shape, contents: datatype === "FP32" ? { fp32Contents: values } : { bytesContents: [Buffer.from("a")] } });
  const cases: { name: string; request: Parameters<typeof h.oip.modelInfer>[0]; code: number; message: RegExp }[] = [
    { name: "unknown model", request: { modelName: "nope", inputs: [x([1n, 3n], [1, 2, 3])] }, code: GrpcStatus.NOT_FOUND, message: /nope/ },
    { name: "unknown version", request: { modelName: "linear", modelVersion: "7", inputs: [x([1n, 3n], [1, 2, 3])] }, code: GrpcStatus.NOT_FOUND, message: /version 7/ },
    { name: "wrong shape", request: { modelName: "linear", inputs: [x([1n, 4n], [1, 2, 3, 4])] }, code: GrpcStatus.INVALID_ARGUMENT, message: /shape \[1, 4\] given, the model takes \[-1, 3\]/ },
    { name: "wrong rank", request: { modelName: "linear", inputs: [x([3n], [1, 2, 3])] }, code: GrpcStatus.INVALID_ARGUMENT, message: /shape \[3\] given/ },
    { name: "element count", request: { modelName: "linear", inputs: [x([1n, 3n], [1, 2])] }, code: GrpcStatus.INVALID_ARGUMENT, message: /needs 3 elements in fp32_contents, got 2/ },
    { name: "datatype the model cannot take", request: { modelName: "linear", inputs: [x([1n, 1n], [], "BYTES")] }, code: GrpcStatus.INVALID_ARGUMENT, message: /datatype BYTES given, the model takes FP32/ },
    { name: "unknown datatype", request: { modelName: "linear", inputs: [{ name: "x", datatype: "FP128", shape: [1n, 3n] }] }, code: GrpcStatus.INVALID_ARGUMENT, message: /unknown datatype "FP128"/ },
    { name: "NaN", request: { modelName: "linear", inputs: [x([1n, 3n], [1, Number.NaN, 3])] }, code: GrpcStatus.INVALID_ARGUMENT, message: /element 1 is NaN/ },
    { name: "empty batch", request: { modelName: "linear", inputs: [x([0n, 3n], [])] }, code: GrpcStatus.INVALID_ARGUMENT, message: /batch is empty/ },
    { name: "oversize batch", request: { modelName: "linear", inputs: [x([9n, 3n], new Array(27).fill(0))] }, code: GrpcStatus.INVALID_ARGUMENT, message: /batch of 9 rows given, max_batch_size .* is 8/ },
    { name: "unknown input", request: { modelName: "linear", inputs: [{ ...x([1n, 3n], [1, 2, 3]), name: "y" }] }, code: GrpcStatus.INVALID_ARGUMENT, message: /no input "y"/ },
    { name: "missing input", request: { modelName: "linear", inputs: [] }, code: GrpcStatus.INVALID_ARGUMENT, message: /0 given, the model takes 1/ },
    { name: "unknown output", request: { modelName: "linear", inputs: [x([1n, 3n], [1, 2, 3])], outputs: [{ name: "z" }] }, code: GrpcStatus.INVALID_ARGUMENT, message: /no output z/ },
    { name: "raw count", request: { modelName: "linear", inputs: [{ name: "x", datatype: "FP32", shape: [1n, 3n] }], rawInputContents: [new Uint8Array(8)] }, code: GrpcStatus.INVALID_ARGUMENT, message: /12 raw bytes, got 8/ },
    { name: "raw and contents", request: { modelName: "linear", inputs: [x([1n, 3n], [1, 2, 3])], rawInputContents: [new Uint8Array(12)] }, code: GrpcStatus.INVALID_ARGUMENT, message: /sets contents while the request uses raw_input_contents/ },
    { name: "fixed batch dimension", request: { modelName: "fixed", inputs: [x([2n, 1n], [1, 2])] }, code: GrpcStatus.INVALID_ARGUMENT, message: /shape \[2, 1\] given, the model takes \[1, 1\]/ },
  ];
  for (const c of cases) {
    await assert.rejects(h.oip.modelInfer(c.request), status(c.code, c.message), c.name);
  }
});

test("a model with a fixed batch dimension is served one request per run", async () => {
  const r = await h.oip.modelInfer({ modelName: "fixed", inputs: [{ name: "x", datatype: "FP32", shape: [1n, 1n], contents: { fp32Contents: [3] } }], outputs: [{ name: "logit" }] });
  assert.deepEqual(r.outputs[0]?.contents?.fp32Contents, [3]);
});

test("metrics count successes and failures by model, version and reason", async () => {
  const text = await h.service.metrics.registry.metrics();
  assert.match(text, /loopline_inference_request_success_total\{[^}]*model="linear",version="1",route="production",rpc="ModelInfer"[^}]*\} \d+/);
  assert.match(text, /loopline_inference_request_failure_total\{[^}]*model="linear"[^}]*reason="INVALID_ARGUMENT"[^}]*\} \d+/);
  assert.match(text, /loopline_inference_request_failure_total\{[^}]*model="nope"[^}]*reason="NOT_FOUND"[^}]*\} 1/);
  assert.match(text, /loopline_inference_exec_count_total\{[^}]*model="linear"/);
  assert.match(text, /loopline_inference_loaded_versions\{[^}]*model="linear",stage="production"[^}]*\} 1/);
});
