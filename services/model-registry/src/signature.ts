import { InputEncoding, type ModelSignature } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { invalidArgument } from "./errors.js";

/** Number of input columns a signature feeds the model: 1 per NUMBER input, len(categories) per ONE_HOT input. */
export function signatureColumns(signature: ModelSignature): number {
  return signature.inputs.reduce((sum, input) => sum + (input.encoding === InputEncoding.ONE_HOT ? input.categories.length : 1), 0);
}

/**
 * Checks that a signature is well-formed on its own (before looking at the ONNX file); a malformed
 * signature is the caller's mistake, answered INVALID_ARGUMENT and not recorded as a version.
 */
export function checkSignature(signature: ModelSignature | undefined): ModelSignature {
  if (signature === undefined) throw invalidArgument("signature", "is required");
  if (signature.inputTensor === "") throw invalidArgument("signature.input_tensor", "is required");
  if (signature.inputs.length === 0) throw invalidArgument("signature.inputs", "at least one input is required");
  const seen = new Set<string>();
  signature.inputs.forEach((input, i) => {
    const field = `signature.inputs[${i}]`;
    if (input.featureRef === "") throw invalidArgument(`${field}.feature_ref`, "is required");
    if (seen.has(input.featureRef)) throw invalidArgument(`${field}.feature_ref`, `${input.featureRef} appears twice`);
    seen.add(input.featureRef);
    if (!input.requestTime && !/^[^:\s]+:[^:\s]+$/.test(input.featureRef)) {
      throw invalidArgument(`${field}.feature_ref`, `${JSON.stringify(input.featureRef)} is not "view:feature" (set request_time for request features)`);
    }
    if (input.encoding === InputEncoding.UNSPECIFIED) throw invalidArgument(`${field}.encoding`, "is required (NUMBER or ONE_HOT)");
    if (input.encoding === InputEncoding.ONE_HOT && input.categories.length === 0) throw invalidArgument(`${field}.categories`, "ONE_HOT needs at least one category");
    if (input.encoding === InputEncoding.NUMBER && input.categories.length > 0) throw invalidArgument(`${field}.categories`, "only ONE_HOT inputs take categories");
    if (!Number.isFinite(input.defaultValue)) throw invalidArgument(`${field}.default_value`, "must be finite");
  });
  if (signature.scoreOutput === "") throw invalidArgument("signature.score_output", "is required");
  const outputs = signature.outputs.map((o) => o.name);
  if (outputs.length > 0 && !outputs.includes(signature.scoreOutput)) {
    throw invalidArgument("signature.score_output", `${signature.scoreOutput} is not among signature.outputs (${outputs.join(", ")})`);
  }
  if (!Number.isFinite(signature.scoreMin) || !Number.isFinite(signature.scoreMax) || signature.scoreMax <= signature.scoreMin) {
    throw invalidArgument("signature.score_max", `the score range [${signature.scoreMin}, ${signature.scoreMax}] is empty: set score_min < score_max (e.g. 0 and 1 for a probability)`);
  }
  if (!Number.isFinite(signature.threshold)) throw invalidArgument("signature.threshold", "must be finite");
  return signature;
}
