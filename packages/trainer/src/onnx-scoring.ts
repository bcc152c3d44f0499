import { performance } from "node:perf_hooks";
import { InferenceSession, Tensor } from "onnxruntime-node";
import type { ModelSignature } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { TrainerError } from "./errors.js";

/** A loaded ONNX model scored the way the inference service scores it (score_output[:, score_index]). */
export interface OnnxScorer {
  /** Scores of a row-major matrix with the signature's column count. */
  score(x: Float64Array, rows: number): Promise<Float64Array>;
  /** Median and 99th percentile wall time of single-row runs, and the per-row time of a batched run (ms). */
  latency(x: Float64Array, rows: number, options?: { runs?: number; batch?: number }): Promise<OnnxLatency>;
  /** Releases the session. */
  close(): Promise<void>;
}

/** Measured run times, milliseconds. */
export interface OnnxLatency {
  /** Median of single-row runs. */
  readonly singleRowP50Ms: number;
  /** 99th percentile of single-row runs. */
  readonly singleRowP99Ms: number;
  /** Time per row of a batched run. */
  readonly batchedPerRowMs: number;
  /** Single-row runs timed. */
  readonly runs: number;
}

/** Loads ONNX bytes for scoring with a signature; throws TrainerError INVALID_ARGUMENT when the file does not fit it. */
export async function createOnnxScorer(onnx: Uint8Array, signature: ModelSignature, columns: number): Promise<OnnxScorer> {
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (err) {
    throw new TrainerError("INVALID_ARGUMENT", `the ONNX model does not load: ${(err as Error).message}`, { cause: err });
  }
  if (!session.outputNames.includes(signature.scoreOutput)) {
    await session.release();
    throw new TrainerError("INVALID_ARGUMENT", `the ONNX model has no output ${signature.scoreOutput} (it has ${session.outputNames.join(", ")})`);
  }
  const run = async (x: Float64Array, from: number, rows: number): Promise<Float32Array | Float64Array> => {
    const input = new Tensor("float32", Float32Array.from(x.subarray(from * columns, (from + rows) * columns)), [rows, columns]);
    const result = await session.run({ [signature.inputTensor]: input }, [signature.scoreOutput]);
    const tensor = result[signature.scoreOutput];
    if (tensor === undefined) throw new TrainerError("INVALID_ARGUMENT", `output ${signature.scoreOutput} missing`);
    return tensor.data as Float32Array | Float64Array;
  };
  return {
    score: async (x, rows) => {
      const out = new Float64Array(rows);
      const chunk = 4096;
      for (let from = 0; from < rows; from += chunk) {
        const n = Math.min(chunk, rows - from);
        const data = await run(x, from, n);
        const width = data.length / n;
        for (let i = 0; i < n; i++) out[from + i] = data[i * width + signature.scoreIndex]!;
      }
      return out;
    },
    latency: async (x, rows, options = {}) => {
      if (rows === 0) throw new TrainerError("EMPTY_TRAINING_SET", "no rows to time the model on");
      const runs = options.runs ?? 200;
      const batch = Math.min(options.batch ?? 256, rows);
      for (let i = 0; i < 10; i++) await run(x, i % rows, 1); // warm-up
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const start = performance.now();
        await run(x, i % rows, 1);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      const start = performance.now();
      await run(x, 0, batch);
      const batchedPerRowMs = (performance.now() - start) / batch;
      return {
        singleRowP50Ms: times[Math.floor(runs / 2)]!,
        singleRowP99Ms: times[Math.min(runs - 1, Math.floor(runs * 0.99))]!,
        batchedPerRowMs,
        runs,
      };
    },
    close: () => session.release(),
  };
}
