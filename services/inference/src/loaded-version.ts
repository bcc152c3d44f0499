import * as ort from "onnxruntime-node";
import type { ModelVersion } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { compileSignature, type NonFinitePolicy, type SignatureEncoder } from "@loopline/signature";
import { createBatcher, type Batcher, type RunStats } from "./batcher.js";
import { ModelLoadError } from "./errors.js";
import { allocate, type HostTensor, type TensorSpec } from "./tensor.js";

/** Batching limits in force for a version: its ServingConfig, or the service defaults where it says 0. */
export interface BatchLimits {
  maxBatchSize: number;
  maxQueueDelayUs: number;
}

/** Options of loadVersion. */
export interface LoadVersionOptions {
  /** The version as the source describes it (signature, serving config, stage). */
  version: ModelVersion;
  /** The ONNX bytes. */
  artifact: Uint8Array;
  /** Limits used where the version's ServingConfig leaves 0. */
  defaults: BatchLimits;
  /** onnxruntime intra-op threads per session. */
  intraOpThreads: number;
  /** NaN/±Infinity policy of the signature encoder. */
  nonFinite: NonFinitePolicy;
  /** Told about every run (metrics). */
  onRun?: (version: LoadedVersion, stats: RunStats) => void;
}

/**
 * One model version loaded into onnxruntime: its session, tensor specs, compiled signature and
 * dynamic batcher. Requests hold it with acquire()/release; retire() releases the session once the
 * last holder is done, so in-flight requests always finish on the session they started on.
 */
export interface LoadedVersion {
  readonly model: string;
  readonly version: string;
  /** The registry's description; replaced when stage or serving config change. */
  readonly info: ModelVersion;
  /** The signature compiled, or undefined when the version has none usable (ModelInfer only). */
  readonly encoder: SignatureEncoder | undefined;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Whether requests can be concatenated along dimension 0. */
  readonly batchable: boolean;
  readonly limits: BatchLimits;
  readonly batcher: Batcher;
  /** Applies a newer description of the same version (stage, serving config). */
  update(info: ModelVersion): void;
  /** Marks one more request in flight; call the returned function when it is done. */
  acquire(): () => void;
  /** No new requests; releases the session once in-flight ones are done. Resolves when released. */
  retire(): Promise<void>;
  /** True once retired. */
  readonly retired: boolean;
}

/** ORT reports symbolic dimensions as names; the protocol uses -1 for them. */
function dimsOf(meta: ort.InferenceSession.ValueMetadata): number[] {
  if (!meta.isTensor) return [];
  return meta.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
}

function specsOf(metadata: readonly ort.InferenceSession.ValueMetadata[], what: string): TensorSpec[] {
  return metadata.map((m) => {
    if (!m.isTensor) throw new ModelLoadError(`${what} ${m.name} is not a tensor (sequences and maps are not served)`);
    return { name: m.name, type: m.type, dims: dimsOf(m) };
  });
}

function limitsOf(info: ModelVersion, defaults: BatchLimits): BatchLimits {
  return {
    maxBatchSize: info.serving?.maxBatchSize || defaults.maxBatchSize,
    maxQueueDelayUs: info.serving?.maxQueueDelayUs || defaults.maxQueueDelayUs,
  };
}

/**
 * Creates the session, checks the signature against the model, and warms it up with a dummy
 * batch so the first real request does not pay for lazy initialisation. Throws ModelLoadError.
 */
export async function loadVersion(options: LoadVersionOptions): Promise<LoadedVersion> {
  const { version: initial } = options;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(options.artifact, {
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    });
  } catch (err) {
    throw new ModelLoadError(`onnxruntime cannot load the artifact: ${(err as Error).message}`, { cause: err });
  }
  try {
    const inputs = specsOf(session.inputMetadata, "input");
    const outputs = specsOf(session.outputMetadata, "output");
    const batchable = [...inputs, ...outputs].every((s) => s.dims.length >= 1 && s.dims[0] === -1);
    const encoder = checkSignature(initial, inputs, outputs, options.nonFinite);
    let info = initial;
    let limits = limitsOf(info, options.defaults);
    let inFlight = 0;
    let retired = false;
    let released: Promise<void> | undefined;
    let onIdle: (() => void) | undefined;

    const feeds = (tensors: readonly HostTensor[]): Record<string, ort.Tensor> => {
      const out: Record<string, ort.Tensor> = {};
      tensors.forEach((t, i) => {
        out[(inputs[i] as TensorSpec).name] = new ort.Tensor(t.type, t.data as ort.Tensor.DataType, [...t.dims]);
      });
      return out;
    };
    const outputNames = outputs.map((o) => o.name);
    const run = async (tensors: readonly HostTensor[]): Promise<HostTensor[]> => {
      const result = await session.run(feeds(tensors), outputNames);
      return outputNames.map((name) => {
        const t = result[name] as ort.Tensor;
        return { type: t.type, data: t.data as HostTensor["data"], dims: t.dims };
      });
    };

    const loaded: LoadedVersion = {
      model: initial.model,
      version: initial.version,
      get info() {
        return info;
      },
      encoder,
      inputs,
      outputs,
      batchable,
      get limits() {
        return limits;
      },
      batcher: createBatcher({
        inputTypes: inputs.map((s) => s.type),
        batchable,
        maxBatchSize: limits.maxBatchSize,
        maxQueueDelayUs: limits.maxQueueDelayUs,
        run,
        ...(options.onRun === undefined ? {} : { onRun: (stats: RunStats) => options.onRun?.(loaded, stats) }),
      }),
      update(next) {
        info = next;
        limits = limitsOf(next, options.defaults);
        loaded.batcher.configure(limits);
      },
      acquire() {
        inFlight++;
        let done = false;
        return () => {
          if (done) return;
          done = true;
          inFlight--;
          if (inFlight === 0) onIdle?.();
        };
      },
      retire() {
        retired = true;
        released ??= new Promise<void>((resolve) => {
          onIdle = resolve;
          if (inFlight === 0) resolve();
        }).then(() => session.release());
        return released;
      },
      get retired() {
        return retired;
      },
    };
    await run(
      inputs.map((spec) => {
        const dims = spec.dims.map((d) => (d === -1 ? 1 : d));
        return { type: spec.type, data: allocate(spec.type, dims.reduce((a, b) => a * b, 1)), dims };
      }),
    );
    return loaded;
  } catch (err) {
    await session.release();
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`warm-up failed: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * A signature must name the model's single float32 input [batch, columns] and an existing score
 * output; a version without a signature input tensor is still served over ModelInfer.
 */
function checkSignature(info: ModelVersion, inputs: readonly TensorSpec[], outputs: readonly TensorSpec[], nonFinite: NonFinitePolicy): SignatureEncoder | undefined {
  const signature = info.signature;
  if (signature === undefined || signature.inputTensor === "") return undefined;
  let encoder: SignatureEncoder;
  try {
    encoder = compileSignature(signature, { nonFinite });
  } catch (err) {
    throw new ModelLoadError(`invalid signature: ${(err as Error).message}`, { cause: err });
  }
  const input = inputs.find((s) => s.name === signature.inputTensor);
  if (input === undefined) {
    throw new ModelLoadError(`signature input_tensor ${signature.inputTensor} is not an input of the model (inputs: ${inputs.map((s) => s.name).join(", ")})`);
  }
  if (inputs.length !== 1) throw new ModelLoadError(`a signature needs a model with one input; this one has ${inputs.length}`);
  if (input.type !== "float32") throw new ModelLoadError(`signature input ${input.name} must be float32, the model declares ${input.type}`);
  const columns = input.dims[1];
  if (input.dims.length !== 2 || (columns !== -1 && columns !== encoder.columnCount)) {
    throw new ModelLoadError(`model input ${input.name} has shape [${input.dims.join(", ")}]; the signature encodes ${encoder.columnCount} columns`);
  }
  const score = outputs.find((s) => s.name === signature.scoreOutput);
  if (score === undefined) throw new ModelLoadError(`signature score_output ${signature.scoreOutput} is not an output of the model`);
  const width = score.dims.length < 2 ? 1 : score.dims.slice(1).reduce((a, b) => a * b, 1);
  if (width !== -1 && width > 0 && signature.scoreIndex >= width) {
    throw new ModelLoadError(`signature score_index ${signature.scoreIndex} is outside output ${score.name} (${width} per row)`);
  }
  return encoder;
}
