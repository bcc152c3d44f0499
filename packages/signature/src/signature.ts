import type { FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { InputEncoding, MissingPolicy, type ModelSignature } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { SignatureError } from "./errors.js";

/**
 * What encoding does with a number that is NaN or ±Infinity:
 * "reject" fails (a corrupt value must not reach a model silently), "missing" treats it as a
 * missing value (the signature's missing policy decides), "keep" passes it to the model as is
 * (tree ensembles route NaN down their learned missing-value branch).
 */
export type NonFinitePolicy = "reject" | "missing" | "keep";

/** One signature input after compilation: where its columns start and how many it takes. */
export interface CompiledInput {
  /** "view:feature", or the request-time name. */
  readonly ref: string;
  /** NUMBER or ONE_HOT (UNSPECIFIED is read as NUMBER). */
  readonly encoding: InputEncoding.NUMBER | InputEncoding.ONE_HOT;
  /** First column of this input in the row. */
  readonly column: number;
  /** Columns taken: 1 for NUMBER, len(categories) for ONE_HOT. */
  readonly width: number;
  /** ONE_HOT categories in column order. */
  readonly categories: readonly string[];
  /** Value written for a missing NUMBER input under the DEFAULT policy. */
  readonly defaultValue: number;
  /** True when the caller supplies the value with the request, not the feature store. */
  readonly requestTime: boolean;
}

/** Options of compileSignature. */
export interface CompileOptions {
  /** NaN/±Infinity handling. Default "reject". */
  nonFinite?: NonFinitePolicy;
}

/** A signature compiled for fast encoding; training and serving both encode through it. */
export interface SignatureEncoder {
  /** The signature it was compiled from. */
  readonly signature: ModelSignature;
  /** Inputs in column order. */
  readonly inputs: readonly CompiledInput[];
  /** Width of one input row (the model input's second dimension). */
  readonly columnCount: number;
  /** Every input's ref, in signature order. */
  readonly featureRefs: readonly string[];
  /** Human column names: the ref for NUMBER, "ref=category" for ONE_HOT. */
  readonly columnNames: readonly string[];
  /** Whether a missing feature fails (MISSING_POLICY_FAIL) instead of taking its default. */
  readonly failOnMissing: boolean;
  /**
   * Writes input `index` for one row into `out` starting at `rowOffset` (the row's first column).
   * `status` is what the feature store said (UNSPECIFIED when the value did not come from one).
   * Throws SignatureError (MISSING_FEATURE, NON_FINITE_VALUE, TYPE_MISMATCH) naming the feature.
   */
  encodeInput(index: number, value: FeatureValue | undefined, status: FeatureStatus, out: Float32Array, rowOffset: number): void;
  /** Writes the row's defaults (what a fully missing entity encodes to under the DEFAULT policy). */
  encodeDefaults(out: Float32Array, rowOffset: number): void;
  /** Encodes a whole row from values (and optional statuses) in signature order. */
  encodeRow(values: readonly (FeatureValue | undefined)[], statuses: readonly FeatureStatus[] | undefined, out: Float32Array, rowOffset: number): void;
}

/** True when the value does not count as present: no value, or a status other than PRESENT. */
export function isMissing(value: FeatureValue | undefined, status: FeatureStatus): boolean {
  if (value === undefined || value.kind.case === undefined) return true;
  return status === FeatureStatus.NULL_VALUE || status === FeatureStatus.NOT_FOUND || status === FeatureStatus.OUTSIDE_MAX_AGE;
}

/** The category key a value is compared with for ONE_HOT: text as is, numbers and booleans printed. */
export function categoryKey(value: FeatureValue): string | undefined {
  const kind = value.kind;
  switch (kind.case) {
    case "text":
      return kind.value;
    case "integer":
      return kind.value.toString();
    case "number":
      return String(kind.value);
    case "flag":
      return kind.value ? "true" : "false";
    default:
      return undefined;
  }
}

/** Checks a signature and compiles it; throws SignatureError INVALID_SIGNATURE naming the fault. */
export function compileSignature(signature: ModelSignature, options: CompileOptions = {}): SignatureEncoder {
  const nonFinite = options.nonFinite ?? "reject";
  if (signature.inputTensor === "") throw new SignatureError("INVALID_SIGNATURE", "signature.input_tensor is empty");
  if (signature.inputs.length === 0) throw new SignatureError("INVALID_SIGNATURE", "signature.inputs is empty");
  const seen = new Set<string>();
  const inputs: CompiledInput[] = [];
  const columnNames: string[] = [];
  let column = 0;
  for (const [i, input] of signature.inputs.entries()) {
    if (input.featureRef === "") throw new SignatureError("INVALID_SIGNATURE", `signature.inputs[${i}].feature_ref is empty`);
    if (seen.has(input.featureRef)) {
      throw new SignatureError("INVALID_SIGNATURE", `signature.inputs[${i}]: feature ${input.featureRef} appears twice`, input.featureRef);
    }
    seen.add(input.featureRef);
    const oneHot = input.encoding === InputEncoding.ONE_HOT;
    if (!oneHot && input.encoding !== InputEncoding.NUMBER && input.encoding !== InputEncoding.UNSPECIFIED) {
      throw new SignatureError("INVALID_SIGNATURE", `signature.inputs[${i}]: unknown encoding ${String(input.encoding)}`, input.featureRef);
    }
    if (oneHot && input.categories.length === 0) {
      throw new SignatureError("INVALID_SIGNATURE", `signature.inputs[${i}]: ONE_HOT feature ${input.featureRef} has no categories`, input.featureRef);
    }
    if (!Number.isFinite(input.defaultValue)) {
      throw new SignatureError("INVALID_SIGNATURE", `signature.inputs[${i}]: default_value of ${input.featureRef} is not finite`, input.featureRef);
    }
    const width = oneHot ? input.categories.length : 1;
    inputs.push({
      ref: input.featureRef,
      encoding: oneHot ? InputEncoding.ONE_HOT : InputEncoding.NUMBER,
      column,
      width,
      categories: [...input.categories],
      defaultValue: input.defaultValue,
      requestTime: input.requestTime,
    });
    if (oneHot) for (const c of input.categories) columnNames.push(`${input.featureRef}=${c}`);
    else columnNames.push(input.featureRef);
    column += width;
  }
  if (signature.scoreOutput === "") throw new SignatureError("INVALID_SIGNATURE", "signature.score_output is empty");
  const failOnMissing = signature.missingPolicy === MissingPolicy.FAIL;
  // Category lookups by Map: a ONE_HOT input with many categories stays O(1) per value.
  const categoryIndex = inputs.map((input) => new Map(input.categories.map((c, k) => [c, k])));

  const writeMissing = (input: CompiledInput, out: Float32Array, start: number): void => {
    if (failOnMissing) {
      throw new SignatureError("MISSING_FEATURE", `feature ${input.ref} is missing and the model's missing policy is FAIL`, input.ref);
    }
    if (input.encoding === InputEncoding.ONE_HOT) out.fill(0, start, start + input.width);
    else out[start] = input.defaultValue;
  };

  // Hot path: called once per feature per entity by Predict/PredictBatch (bench/inference.bench.ts,
  // "PredictBatch 512 entities"); no allocation besides the category key string.
  const encodeInput = (index: number, value: FeatureValue | undefined, status: FeatureStatus, out: Float32Array, rowOffset: number): void => {
    const input = inputs[index];
    if (input === undefined) throw new RangeError(`input index ${index} out of range`);
    const start = rowOffset + input.column;
    if (value === undefined || isMissing(value, status)) {
      writeMissing(input, out, start);
      return;
    }
    const kind = value.kind;
    if (input.encoding === InputEncoding.NUMBER) {
      let x: number;
      switch (kind.case) {
        case "number":
          x = kind.value;
          break;
        case "integer":
          x = Number(kind.value);
          break;
        case "flag":
          x = kind.value ? 1 : 0;
          break;
        default:
          throw new SignatureError("TYPE_MISMATCH", `feature ${input.ref} is text; a NUMBER input takes a number or a boolean`, input.ref);
      }
      if (!Number.isFinite(x)) {
        if (nonFinite === "reject") throw new SignatureError("NON_FINITE_VALUE", `feature ${input.ref} is ${String(x)}`, input.ref);
        if (nonFinite === "missing") {
          writeMissing(input, out, start);
          return;
        }
      }
      out[start] = x;
      return;
    }
    if (kind.case === "number" && !Number.isFinite(kind.value)) {
      if (nonFinite === "reject") throw new SignatureError("NON_FINITE_VALUE", `feature ${input.ref} is ${String(kind.value)}`, input.ref);
      if (nonFinite === "missing") {
        writeMissing(input, out, start);
        return;
      }
    }
    out.fill(0, start, start + input.width);
    const hit = categoryIndex[index]?.get(categoryKey(value) ?? "");
    if (hit !== undefined) out[start + hit] = 1;
  };

  const encodeDefaults = (out: Float32Array, rowOffset: number): void => {
    for (const input of inputs) {
      const start = rowOffset + input.column;
      if (input.encoding === InputEncoding.ONE_HOT) out.fill(0, start, start + input.width);
      else out[start] = input.defaultValue;
    }
  };

  return {
    signature,
    inputs,
    columnCount: column,
    featureRefs: inputs.map((input) => input.ref),
    columnNames,
    failOnMissing,
    encodeInput,
    encodeDefaults,
    encodeRow(values, statuses, out, rowOffset) {
      for (let i = 0; i < inputs.length; i++) {
        encodeInput(i, values[i], statuses?.[i] ?? FeatureStatus.UNSPECIFIED, out, rowOffset);
      }
    },
  };
}

/** Score and decision from the score output tensor's values for one row (score_index picks the column). */
export function decide(signature: ModelSignature, rowValues: ArrayLike<number>): { score: number; decision: boolean } {
  const score = Number(rowValues[signature.scoreIndex]);
  return { score, decision: score >= signature.threshold };
}
