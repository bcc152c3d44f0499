// Issue 5's figures for the inference service, each beside a baseline measured in the same run:
//   1. unary ModelInfer and Predict throughput vs a bare grpc-js echo server driven by the same load
//      generator (a separate process) with the same payload bytes; target >= 50% of echo
//   2. PredictBatch with 512 entities: predictions/s; target >= 100,000/s. The feature store is a
//      fake FeatureStore gRPC server in its own process (services/inference/src/testing/fake-feature-store.ts)
//   3. ModelInfer rows/s at batch 1 and 64 vs a bare onnxruntime-node session.run loop on the same model
//   4. ModelInfer p50/p99 at half the measured maximum load (open loop)
//   5. RSS with three versions (production, canary, shadow) loaded, vs the process before the service
//      (measured first; the throughput runs then use the production version alone)
// Prediction records are encoded (protobuf, as the Kafka sink does) and discarded: Kafka is measured by the integration test,
// not here. Run: node --conditions=@loopline/source --import tsx --expose-gc bench/inference.bench.ts
// BENCH_INFERENCE_ONLY=predictbatch runs figure 2 alone (with the RSS figure, measured anyway), for
// profiling and repeated runs of the hot path.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { silentLogger } from "@loopline/kit";
import { ModelInferRequestSchema } from "@loopline/proto/gen/inference/grpc_service_pb.js";
import { PredictBatchRequestSchema, PredictRequestSchema } from "@loopline/proto/gen/loopline/v1/inference_pb.js";
import { InputEncoding, Stage } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { createFolderSource, createInferenceService, encodePredictionRecord, loadInferenceConfig } from "../services/inference/src/index.js";
import { bareSessionRowsPerSecond, startEchoServer } from "../services/inference/src/testing/baselines.js";
import { createModelFolder } from "../services/inference/src/testing/harness.js";
import { linearSigmoidModel } from "../services/inference/src/testing/onnx-models.js";

const SECONDS = Number(process.env["BENCH_INFERENCE_SECONDS"] ?? 4);
const ONLY = process.env["BENCH_INFERENCE_ONLY"] ?? "";
if (ONLY !== "" && ONLY !== "predictbatch") throw new Error(`BENCH_INFERENCE_ONLY=${ONLY}: only "predictbatch" is known`);
const all = ONLY === "";
const CONCURRENCY = 64;
const root = fileURLToPath(new URL("..", import.meta.url));
const testing = join(root, "services/inference/src/testing");
const results: { name: string; loopline: number; baseline?: number; unit: string; ratio?: number; target: string; ok: boolean }[] = [];
const rssMb = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 2 ** 20;
};
const rssBefore = rssMb();

// The model: a fraud-style logistic regression over 6 numbers, a one-hot country (4) and a flag = 11 columns.
const numbers = Array.from({ length: 6 }, (_, i) => `txn:f${i}`);
const signature = {
  inputTensor: "x",
  inputs: [
    ...numbers.map((featureRef) => ({ featureRef, encoding: InputEncoding.NUMBER })),
    { featureRef: "card:country", encoding: InputEncoding.ONE_HOT, categories: ["fr", "de", "us", "gb"] },
    { featureRef: "card:is_new", encoding: InputEncoding.NUMBER },
  ],
  scoreOutput: "probability",
  scoreIndex: 1,
  threshold: 0.5,
};
const COLUMNS = 11;
const weights = Array.from({ length: COLUMNS }, (_, i) => ((i % 5) - 2) / 10);
const model = (bias: number) => linearSigmoidModel({ weights, bias });

function child(script: string, args: string[]): { proc: ChildProcess; firstLine: Promise<string> } {
  const proc = spawn(process.execPath, ["--conditions=@loopline/source", "--import", "tsx", join(testing, script), ...args], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  const firstLine = new Promise<string>((resolve, reject) => {
    let out = "";
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.on("exit", (code) => reject(new Error(`${script} exited ${code} before answering`)));
  });
  return { proc, firstLine };
}

interface Load {
  requests: number;
  errors: number;
  firstError?: string;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}
const scratch = await mkdtemp(join(tmpdir(), "loopline-bench-"));
async function load(port: number, method: string, payload: Uint8Array, extra: string[] = []): Promise<Load> {
  const file = join(scratch, `payload-${Math.random().toString(36).slice(2)}.bin`);
  await writeFile(file, payload);
  const { firstLine } = child("loadgen.ts", ["--address", `127.0.0.1:${port}`, "--method", method, "--payload", file, "--seconds", String(SECONDS), "--concurrency", String(CONCURRENCY), ...extra]);
  const result = JSON.parse(await firstLine) as Load;
  if (result.errors > 0) console.log(`  !! ${result.errors} errors, first: ${result.firstError ?? "?"}`);
  return result;
}

const modelInfer = (rows: number) =>
  toBinary(
    ModelInferRequestSchema,
    create(ModelInferRequestSchema, {
      modelName: "fraud",
      inputs: [{ name: "x", datatype: "FP32", shape: [BigInt(rows), BigInt(COLUMNS)] }],
      rawInputContents: [new Uint8Array(new Float32Array(rows * COLUMNS).map((_, i) => (i % 7) / 7).buffer)],
    }),
  );
const INFER = "/inference.GRPCInferenceService/ModelInfer";

// --- servers ----------------------------------------------------------------------------------
const fake = child("fake-feature-store.ts", []);
const featurePort = (JSON.parse(await fake.firstLine) as { port: number }).port;
const folder = await createModelFolder();
await folder.write("fraud", "1", model(-0.5), { stage: Stage.PRODUCTION, signature, serving: { maxBatchSize: 512 } });
await folder.write("fraud", "2", model(0), { stage: Stage.CANARY, signature, serving: { canaryPercent: 10 } });
await folder.write("fraud", "3", model(0.5), { stage: Stage.SHADOW, signature });
const config = loadInferenceConfig({
  LOOPLINE_INFERENCE_HOST: "127.0.0.1",
  LOOPLINE_INFERENCE_PORT: "0",
  LOOPLINE_INFERENCE_ADMIN_PORT: "0",
  LOOPLINE_FEATURE_STORE_ADDRESS: `127.0.0.1:${featurePort}`,
  LOOPLINE_INFERENCE_LOG_BUFFER: "1000000",
  // The machine is shared by the load generator and the fake store: allow for scheduling hiccups.
  LOOPLINE_INFERENCE_FEATURE_TIMEOUT: "2s",
});
let encodedRecords = 0;
const source = createFolderSource({ root: folder.root, pollIntervalMs: 0, logger: silentLogger });
const service = createInferenceService(config, {
  logger: silentLogger,
  modelSource: source,
  predictionSink: {
    send: (records) => {
      // The encoding the Kafka sink does, without Kafka.
      for (const r of records) encodedRecords += encodePredictionRecord(r).length > 0 ? 1 : 0;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  },
});
await service.start();
await service.modelsReady();

// --- 5. RSS with three versions (measured first, before load has grown the heap) ---------------
const slots = service.repository.slots("fraud");
const rss = rssMb();
console.log(`RSS with versions ${[slots?.production?.version, slots?.canary?.version, slots?.shadow?.version].join(", ")} loaded: ${rss.toFixed(0)} MB (process before the service: ${rssBefore.toFixed(0)} MB)`);
results.push({ name: "RSS with 3 versions loaded (baseline: process before the service)", loopline: rss, baseline: rssBefore, unit: "MB", ratio: rss / rssBefore, target: "< 300 MB", ok: rss < 300 && slots?.versions.size === 3 });
// The throughput figures below are for the champion alone.
await folder.remove("fraud", "2");
await folder.remove("fraud", "3");
await source.refresh();
await service.repository.idle();

// --- 1. unary throughput vs echo ----------------------------------------------------------------
const echo = all ? await startEchoServer(INFER) : undefined;
const echoPredict = all ? await startEchoServer("/loopline.v1.Inference/Predict") : undefined;
const inferPayload = modelInfer(1);
let maxInferPerSecond = 0;
if (echo !== undefined && echoPredict !== undefined) {
  const pct = (a: number, b: number) => a / b;
  const echoInfer = await load(echo.port, INFER, inferPayload);
  const looplineInfer = await load(service.port, INFER, inferPayload);
  console.log(`ModelInfer unary: loopline ${looplineInfer.perSecond.toFixed(0)} req/s, echo ${echoInfer.perSecond.toFixed(0)} req/s (payload ${inferPayload.length} B, ${CONCURRENCY} in flight)`);
  results.push({ name: "ModelInfer unary req/s vs grpc-js echo", loopline: looplineInfer.perSecond, baseline: echoInfer.perSecond, unit: "req/s", ratio: pct(looplineInfer.perSecond, echoInfer.perSecond), target: ">= 0.5x echo", ok: looplineInfer.perSecond >= 0.5 * echoInfer.perSecond && looplineInfer.errors === 0 });

  const predictPayload = toBinary(PredictRequestSchema, create(PredictRequestSchema, { model: "fraud", entityId: "card-000042", requestId: "bench-request-0001" }));
  const echoP = await load(echoPredict.port, "/loopline.v1.Inference/Predict", predictPayload);
  const looplinePredict = await load(service.port, "/loopline.v1.Inference/Predict", predictPayload);
  console.log(`Predict unary (features from the fake store process): loopline ${looplinePredict.perSecond.toFixed(0)} req/s, echo ${echoP.perSecond.toFixed(0)} req/s`);
  results.push({ name: "Predict unary req/s vs grpc-js echo (fake feature store)", loopline: looplinePredict.perSecond, baseline: echoP.perSecond, unit: "req/s", ratio: pct(looplinePredict.perSecond, echoP.perSecond), target: ">= 0.5x echo", ok: looplinePredict.perSecond >= 0.5 * echoP.perSecond && looplinePredict.errors === 0 });
  maxInferPerSecond = looplineInfer.perSecond;
}

// --- 2. PredictBatch 512 ------------------------------------------------------------------------
const entities = Array.from({ length: 512 }, (_, i) => `card-${String(i).padStart(6, "0")}`);
const batchPayload = toBinary(PredictBatchRequestSchema, create(PredictBatchRequestSchema, { model: "fraud", entityIds: entities, requestId: "bench-batch" }));
const cpuBefore = process.cpuUsage();
const wallBefore = performance.now();
const batch = await load(service.port, "/loopline.v1.Inference/PredictBatch", batchPayload, ["--concurrency", "8"]);
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const wallSeconds = (performance.now() - wallBefore) / 1000;
const predictionsPerSecond = batch.perSecond * 512;
// Wall-clock throughput depends on what else the two cores run; predictions per CPU-second of the
// service's process is what one dedicated core would sustain.
// Conservative: the CPU time also covers the 0.5 s warm-up, whose predictions are not counted.
const perCpuSecond = (batch.requests * 512) / cpuSeconds;
console.log(`PredictBatch 512 entities (fake feature store process, records encoded and discarded): ${predictionsPerSecond.toFixed(0)} predictions/s, p50 ${batch.p50Ms.toFixed(2)} ms; service CPU ${(100 * cpuSeconds / wallSeconds).toFixed(0)}% of a core -> ~${perCpuSecond.toFixed(0)} predictions per CPU-second`);
results.push({ name: "PredictBatch 512 entities, predictions/s (fake feature store)", loopline: predictionsPerSecond, unit: "req/s", target: ">= 100000 predictions/s", ok: predictionsPerSecond >= 100_000 && batch.errors === 0 });
results.push({ name: "PredictBatch 512 entities, predictions per service CPU-second", loopline: perCpuSecond, unit: "req/s", target: ">= 100000 per CPU-second", ok: perCpuSecond >= 100_000 && batch.errors === 0 });

// --- 3. ModelInfer at batch 1 and 64 vs bare session.run; 4. latency at half the maximum load -----
if (all) {
  for (const rows of [1, 64]) {
    const bare = await bareSessionRowsPerSecond(model(-0.5), "x", COLUMNS, rows, SECONDS / 2);
    const served = await load(service.port, INFER, modelInfer(rows), ["--concurrency", rows === 1 ? String(CONCURRENCY) : "8"]);
    const rowsPerSecond = served.perSecond * rows;
    console.log(`ModelInfer batch ${rows}: loopline ${rowsPerSecond.toFixed(0)} rows/s over gRPC, bare session.run ${bare.toFixed(0)} rows/s in-process`);
    results.push({
      name: `ModelInfer batch ${rows} rows/s vs bare session.run`,
      loopline: rowsPerSecond,
      baseline: bare,
      unit: "req/s",
      ratio: rowsPerSecond / bare,
      // At batch 1 the bare loop does no I/O at all; gRPC framing is most of the cost (see the echo
      // ratio). At batch 64 the model's work dominates and the serving overhead must be small.
      target: "report (no errors)",
      ok: served.errors === 0,
    });
  }

  // 4.
  const half = Math.max(100, Math.floor(maxInferPerSecond / 2));
  const atHalf = await load(service.port, INFER, inferPayload, ["--rate", String(half), "--concurrency", "256"]);
  // The transport's own latency at the same rate: the bare echo server, same load generator and bytes.
  const echoAtHalf = echo !== undefined ? await load(echo.port, INFER, inferPayload, ["--rate", String(half), "--concurrency", "256"]) : undefined;
  const echoNote = echoAtHalf !== undefined ? `; bare grpc-js echo at the same rate: p50 ${echoAtHalf.p50Ms.toFixed(2)} ms, p99 ${echoAtHalf.p99Ms.toFixed(2)} ms` : "";
  console.log(`ModelInfer at ${half} req/s (half of max): p50 ${atHalf.p50Ms.toFixed(2)} ms, p99 ${atHalf.p99Ms.toFixed(2)} ms${echoNote}`);
  // Issue 5 asks for these to be reported; < 2 ms and < 10 ms is our own bar.
  results.push({ name: `ModelInfer p50 at half max load (${half} req/s)`, loopline: atHalf.p50Ms, ...(echoAtHalf ? { baseline: echoAtHalf.p50Ms } : {}), unit: "ms", target: "report; our bar < 2 ms", ok: atHalf.p50Ms < 2 && atHalf.errors === 0 });
  results.push({ name: `ModelInfer p99 at half max load (${half} req/s)`, loopline: atHalf.p99Ms, ...(echoAtHalf ? { baseline: echoAtHalf.p99Ms } : {}), unit: "ms", target: "report; our bar < 10 ms", ok: atHalf.p99Ms < 10 && atHalf.errors === 0 });
}

console.log(`RSS after the load: ${rssMb().toFixed(0)} MB`);

await service.close();
await echo?.close();
await echoPredict?.close();
fake.proc.kill("SIGTERM");
await folder.cleanup();
await rm(scratch, { recursive: true, force: true });
console.log(`(prediction records encoded: ${encodedRecords})`);

console.log("\n| figure | loopline | baseline | unit | ratio | target | ok |\n|---|---|---|---|---|---|---|");
for (const r of results) {
  console.log(`| ${r.name} | ${r.loopline.toFixed(2)} | ${r.baseline?.toFixed(2) ?? "-"} | ${r.unit} | ${r.ratio?.toFixed(3) ?? "-"} | ${r.target} | ${r.ok ? "yes" : "NO"} |`);
}
console.log(JSON.stringify({ bench: "inference", results }));
process.exit(0);
