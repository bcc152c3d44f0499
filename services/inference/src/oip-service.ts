import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { GrpcError, GrpcStatus } from "@loopline/proto";
import {
  ModelInferResponseSchema,
  ModelMetadataResponseSchema,
  type ModelInferRequest,
  type ModelInferResponse,
  type ModelInferResponse_InferOutputTensorSchema,
  type ModelMetadataResponse,
} from "@loopline/proto/gen/inference/grpc_service_pb.js";
import { failureReason, invalidArgument, toGrpcError } from "./errors.js";
import type { InferenceMetrics } from "./inference-metrics.js";
import type { LoadedVersion } from "./loaded-version.js";
import type { ModelRepository } from "./model-repository.js";
import { DATATYPE_OF, decodeInput, encodeOutput } from "./oip-tensors.js";
import type { TensorData } from "./tensor.js";

/** The ONNX platform name of the Open Inference Protocol (Triton's). */
export const ONNX_PLATFORM = "onnx_onnxv1";

/** Options of createOpenInference. */
export interface OpenInferenceOptions {
  repository: ModelRepository;
  metrics: InferenceMetrics;
  /** NaN/±Infinity in floating inputs: "reject" answers INVALID_ARGUMENT, "keep" passes them on. */
  nonFinite: "reject" | "keep";
}

/** ModelInfer and ModelMetadata on the loaded versions; model_version "" means production. */
export interface OpenInference {
  resolve(name: string, version: string): LoadedVersion | undefined;
  metadata(name: string, version: string): ModelMetadataResponse;
  infer(request: ModelInferRequest, signal: AbortSignal): Promise<ModelInferResponse>;
}

/** Creates the protocol's model-level operations. */
export function createOpenInference(options: OpenInferenceOptions): OpenInference {
  const { repository, metrics } = options;

  const resolve = (name: string, version: string): LoadedVersion | undefined => {
    const slots = repository.slots(name);
    if (slots === undefined) return undefined;
    return version === "" ? slots.production : slots.versions.get(version);
  };

  const required = (name: string, version: string): LoadedVersion => {
    if (name === "") throw invalidArgument("model_name: required");
    const lv = resolve(name, version);
    if (lv === undefined) {
      throw new GrpcError(GrpcStatus.NOT_FOUND, version === "" ? `model ${name} has no production version loaded` : `version ${version} of model ${name} is not loaded`);
    }
    return lv;
  };

  const routeOf = (lv: LoadedVersion): string => {
    const slots = repository.slots(lv.model);
    return lv === slots?.production ? "production" : lv === slots?.canary ? "canary" : lv === slots?.shadow ? "shadow" : "pinned";
  };

  return {
    resolve,
    metadata(name, version) {
      const lv = required(name, version);
      const slots = repository.slots(name);
      return create(ModelMetadataResponseSchema, {
        name,
        versions: [...(slots?.versions.keys() ?? [])],
        platform: ONNX_PLATFORM,
        inputs: lv.inputs.map((s) => ({ name: s.name, datatype: DATATYPE_OF[s.type] ?? s.type, shape: s.dims.map(BigInt) })),
        outputs: lv.outputs.map((s) => ({ name: s.name, datatype: DATATYPE_OF[s.type] ?? s.type, shape: s.dims.map(BigInt) })),
      });
    },

    // Hot path: every ModelInfer (bench/inference.bench.ts, "ModelInfer batch 1/64").
    async infer(request, signal) {
      const startedAt = performance.now();
      let labels = { model: request.modelName, version: request.modelVersion, route: "none" };
      let release: (() => void) | undefined;
      try {
        const lv = required(request.modelName, request.modelVersion);
        labels = { model: lv.model, version: lv.version, route: routeOf(lv) };
        release = lv.acquire();
        const raw = request.rawInputContents.length > 0;
        if (raw && request.rawInputContents.length !== request.inputs.length) {
          throw invalidArgument(`raw_input_contents: ${request.rawInputContents.length} entries for ${request.inputs.length} inputs (one per input, in order)`);
        }
        if (request.inputs.length !== lv.inputs.length) {
          throw invalidArgument(`inputs: ${request.inputs.length} given, the model takes ${lv.inputs.length} (${lv.inputs.map((s) => s.name).join(", ")})`);
        }
        const data: TensorData[] = new Array(lv.inputs.length);
        const dims: number[][] = new Array(lv.inputs.length);
        let rows = -1;
        request.inputs.forEach((tensor, k) => {
          const index = lv.inputs.findIndex((s) => s.name === tensor.name);
          if (index < 0) throw invalidArgument(`inputs[${k}]: the model has no input ${JSON.stringify(tensor.name)} (inputs: ${lv.inputs.map((s) => s.name).join(", ")})`);
          if (data[index] !== undefined) throw invalidArgument(`inputs[${k}]: input ${tensor.name} given twice`);
          if (raw && tensor.contents !== undefined && hasContents(tensor.contents)) {
            throw invalidArgument(`inputs[${k}]: input ${tensor.name} sets contents while the request uses raw_input_contents`);
          }
          const decoded = decodeInput({
            spec: lv.inputs[index] as LoadedVersion["inputs"][number],
            datatype: tensor.datatype,
            shape: tensor.shape,
            contents: tensor.contents,
            raw: raw ? request.rawInputContents[k] : undefined,
            nonFinite: options.nonFinite,
          });
          data[index] = decoded.data;
          dims[index] = decoded.dims;
          if (lv.batchable) {
            const n = decoded.dims[0] as number;
            if (rows !== -1 && n !== rows) throw invalidArgument(`inputs[${k}]: batch dimension ${n} differs from the other inputs' ${rows}`);
            rows = n;
          }
        });
        if (lv.batchable) {
          if (rows === 0) throw invalidArgument("inputs: the batch is empty (dimension 0 is 0)");
          if (rows > lv.limits.maxBatchSize) throw invalidArgument(`inputs: batch of ${rows} rows given, max_batch_size of ${lv.model} version ${lv.version} is ${lv.limits.maxBatchSize}`);
        }
        const wanted = request.outputs.map((o) => o.name);
        const outputIndexes = wanted.length === 0 ? lv.outputs.map((_, i) => i) : wanted.map((name) => lv.outputs.findIndex((s) => s.name === name));
        const unknown = wanted.filter((_, i) => (outputIndexes[i] as number) < 0);
        if (unknown.length > 0) throw invalidArgument(`outputs: the model has no output ${unknown.join(", ")} (outputs: ${lv.outputs.map((s) => s.name).join(", ")})`);

        const result = await lv.batcher.submit(data, dims, signal);
        const outputs: MessageInitShape<typeof ModelInferResponse_InferOutputTensorSchema>[] = [];
        const rawOutputs: Uint8Array[] = [];
        for (const i of outputIndexes) {
          const tensor = result.outputs[i];
          const spec = lv.outputs[i];
          if (tensor === undefined || spec === undefined) continue;
          const encoded = encodeOutput(tensor.type, tensor.data, raw);
          outputs.push({ name: spec.name, datatype: encoded.datatype, shape: tensor.dims.map(BigInt), ...(encoded.contents === undefined ? {} : { contents: encoded.contents }) });
          if (encoded.raw !== undefined) rawOutputs.push(encoded.raw);
        }
        metrics.success.inc({ ...labels, rpc: "ModelInfer" });
        metrics.requestDuration.observe({ model: labels.model, route: labels.route, rpc: "ModelInfer" }, (performance.now() - startedAt) / 1000);
        return create(ModelInferResponseSchema, {
          modelName: lv.model,
          modelVersion: lv.version,
          id: request.id,
          outputs,
          rawOutputContents: rawOutputs,
        });
      } catch (err) {
        metrics.failure.inc({ ...labels, rpc: "ModelInfer", reason: failureReason(err) });
        throw toGrpcError(err);
      } finally {
        release?.();
      }
    },
  };
}

function hasContents(c: NonNullable<ModelInferRequest["inputs"][number]["contents"]>): boolean {
  return (
    c.boolContents.length + c.intContents.length + c.int64Contents.length + c.uintContents.length + c.uint64Contents.length +
      c.fp32Contents.length + c.fp64Contents.length + c.bytesContents.length >
    0
  );
}
