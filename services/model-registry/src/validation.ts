import { InferenceSession, Tensor } from "onnxruntime-node";
import type { ModelSignature } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import type { ValidationOutcome } from "./decisions.js";
import { signatureColumns } from "./signature.js";
import { smokeRows } from "./smoke-rows.js";

/** A check that failed: recorded as the REJECTED version's status_reason. */
class Rejection extends Error {
  override name = "Rejection";
}

const FLOAT_TYPES = new Set(["float32", "float64", "float16"]);

function dimText(shape: readonly (number | string)[]): string {
  return `[${shape.map((d) => (typeof d === "number" && d >= 0 ? String(d) : typeof d === "string" && d !== "" ? d : "?")).join(", ")}]`;
}

const isStatic = (d: number | string | undefined): d is number => typeof d === "number" && d >= 0;

/**
 * Validates an ONNX artifact against its signature: it loads in onnxruntime-node, its single input
 * is the signature's float32 tensor with signatureColumns() columns, score_output exists and
 * score_index fits it, and a smoke inference on rows from the reference profile (or defaults)
 * gives finite outputs with scores inside [score_min, score_max]. Never throws for a bad model:
 * the outcome says why it is rejected. The signature must already have passed checkSignature.
 */
export async function validateArtifact(bytes: Uint8Array, signature: ModelSignature, referenceProfile: Uint8Array): Promise<ValidationOutcome> {
  // Reading the rows first: a malformed profile is INVALID_ARGUMENT (thrown), not a rejection.
  const smoke = smokeRows(signature, referenceProfile);
  const checked: string[] = [];
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, { graphOptimizationLevel: "basic", intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, reason: `onnx: the file does not load in onnxruntime: ${message.split("\n")[0] ?? message}`, summary: "load failed" };
  }
  try {
    checked.push("loads in onnxruntime-node");
    const columns = signatureColumns(signature);
    const inputs = session.inputMetadata;
    if (inputs.length !== 1 || inputs[0]?.name !== signature.inputTensor) {
      throw new Rejection(`inputs: the model takes ${inputs.map((i) => i.name).join(", ") || "nothing"}; the signature describes one input ${signature.inputTensor}`);
    }
    const input = inputs[0];
    if (!input.isTensor || input.type !== "float32") {
      throw new Rejection(`inputs: ${input.name} is ${input.isTensor ? input.type : "not a tensor"}, the signature needs float32`);
    }
    if (input.shape.length !== 2) throw new Rejection(`inputs: ${input.name} has shape ${dimText(input.shape)}, the signature needs [batch, ${columns}]`);
    const modelColumns = input.shape[1];
    if (isStatic(modelColumns) && modelColumns !== columns) {
      throw new Rejection(`inputs: ${input.name} has ${modelColumns} columns, the signature's inputs take ${columns}`);
    }
    checked.push(`input ${input.name} float32 ${dimText(input.shape)}`);

    const output = session.outputMetadata.find((o) => o.name === signature.scoreOutput);
    if (output === undefined) {
      throw new Rejection(`outputs: score_output ${signature.scoreOutput} is not among the model's outputs (${session.outputNames.join(", ")})`);
    }
    if (!output.isTensor || !FLOAT_TYPES.has(output.type)) {
      throw new Rejection(`outputs: ${output.name} is ${output.isTensor ? output.type : "not a tensor"}; a score must be a float tensor`);
    }
    const scoreColumns = output.shape.length >= 2 ? output.shape[output.shape.length - 1] : undefined;
    if (isStatic(scoreColumns) && signature.scoreIndex >= scoreColumns) {
      throw new Rejection(`outputs: score_index ${signature.scoreIndex} is outside ${output.name} ${dimText(output.shape)}`);
    }
    for (const declared of signature.outputs) {
      if (!session.outputNames.includes(declared.name)) throw new Rejection(`outputs: ${declared.name} (in the signature) is not among the model's outputs (${session.outputNames.join(", ")})`);
    }
    checked.push(`score ${output.name}[:, ${signature.scoreIndex}]`);

    const batch = isStatic(input.shape[0]) && input.shape[0] > 0 ? input.shape[0] : smoke.rows.length;
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (let start = 0; start < smoke.rows.length; start += batch) {
      const chunk = Array.from({ length: batch }, (_, i) => smoke.rows[(start + i) % smoke.rows.length] as number[]);
      let results: InferenceSession.OnnxValueMapType;
      try {
        results = await session.run({ [input.name]: new Tensor("float32", Float32Array.from(chunk.flat()), [batch, columns]) });
      } catch (err) {
        throw new Rejection(`smoke inference failed: ${(err instanceof Error ? err.message : String(err)).split("\n")[0] ?? ""}`);
      }
      for (const [name, value] of Object.entries(results)) {
        if (!(value instanceof Tensor) || !(value.data instanceof Float32Array || value.data instanceof Float64Array)) continue;
        const bad = value.data.findIndex((x) => !Number.isFinite(x));
        if (bad >= 0) throw new Rejection(`smoke inference: output ${name} holds ${String(value.data[bad])} (element ${bad}) for rows from ${smoke.source}`);
      }
      const score = results[output.name] as Tensor;
      const width = score.dims.length >= 2 ? (score.dims[score.dims.length - 1] as number) : 1;
      if (signature.scoreIndex >= width) throw new Rejection(`outputs: score_index ${signature.scoreIndex} is outside ${output.name} of width ${width}`);
      const data = score.data as Float32Array | Float64Array;
      for (let row = 0; row * width < data.length; row++) {
        const s = data[row * width + signature.scoreIndex] as number;
        if (s < signature.scoreMin || s > signature.scoreMax) {
          throw new Rejection(`smoke inference: score ${s} is outside [${signature.scoreMin}, ${signature.scoreMax}] for rows from ${smoke.source}`);
        }
        low = Math.min(low, s);
        high = Math.max(high, s);
      }
    }
    checked.push(`smoke inference on ${smoke.rows.length} rows from ${smoke.source}: finite outputs, scores in [${low.toPrecision(4)}, ${high.toPrecision(4)}]`);
    return { ok: true, reason: "", summary: checked.join("; ") };
  } catch (err) {
    if (!(err instanceof Rejection)) throw err;
    return { ok: false, reason: err.message, summary: checked.join("; ") };
  } finally {
    await session.release();
  }
}
