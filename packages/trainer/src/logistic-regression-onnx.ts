import { encodeOnnxModel } from "./onnx-model.js";

/** A fitted logistic regression (or, with `link: "identity"`, a linear regression) to export. */
export interface LinearModelExport {
  /** One coefficient per input column, applied to the standardised column. */
  weights: readonly number[];
  /** Bias added after the dot product. */
  intercept: number;
  /** Per-column means subtracted before scaling. Default: all 0 (no centring). */
  means?: readonly number[];
  /** Per-column scales (standard deviations) divided by after centring; must be non-zero. Default: all 1. */
  scales?: readonly number[];
  /** Name of the float32 [N, F] input tensor. Default "features". */
  inputName?: string;
  /** Name of the output tensor. Default "probability" (logistic) or "prediction" (identity). */
  outputName?: string;
  /** Default-domain opset. Default 13. */
  opset?: number;
  /** Written as ONNX metadata_props, e.g. the training run id. Default none. */
  metadata?: Readonly<Record<string, string>>;
}

/** Thrown when the coefficients cannot make a valid model (lengths differ, non-finite values, zero scale). */
export class ExportError extends Error {
  override name = "ExportError";
  /** Stable code. */
  readonly code = "INVALID_MODEL";
}

function checkColumns(spec: LinearModelExport): { means: number[]; scales: number[] } {
  const columns = spec.weights.length;
  if (columns === 0) throw new ExportError("weights: at least one column is required");
  const means = spec.means === undefined ? new Array<number>(columns).fill(0) : [...spec.means];
  const scales = spec.scales === undefined ? new Array<number>(columns).fill(1) : [...spec.scales];
  if (means.length !== columns) throw new ExportError(`means: ${means.length} values for ${columns} weights`);
  if (scales.length !== columns) throw new ExportError(`scales: ${scales.length} values for ${columns} weights`);
  const all: [string, readonly number[]][] = [["weights", spec.weights], ["means", means], ["scales", scales], ["intercept", [spec.intercept]]];
  for (const [field, values] of all) {
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new ExportError(`${field}[${bad}]: ${String(values[bad])} is not a finite number`);
  }
  const zero = scales.findIndex((s) => s === 0);
  if (zero >= 0) throw new ExportError(`scales[${zero}]: a scale of 0 would divide by zero (use 1 for a constant column)`);
  return { means, scales };
}

/**
 * Exports a logistic regression as ONNX: input float32 [N, F] → (x − means) / scales → MatMul
 * weights [F, 1] + intercept → Sigmoid = p → output float32 [N, 2] holding [1 − p, p].
 *
 * The two-column output matches scikit-learn's predict_proba and skl2onnx's `probabilities`, so a
 * signature with score_index 1 (P(class 1)) fits models from either producer.
 */
export function exportLogisticRegressionOnnx(spec: LinearModelExport): Uint8Array {
  const { means, scales } = checkColumns(spec);
  const columns = spec.weights.length;
  const input = spec.inputName ?? "features";
  const output = spec.outputName ?? "probability";
  return encodeOnnxModel({
    graphName: "loopline_logistic_regression",
    producerName: "loopline-trainer/logistic-regression",
    docString: `logistic regression on ${columns} standardised columns; ${output}[:, 1] = P(class 1)`,
    ...(spec.opset !== undefined ? { opset: spec.opset } : {}),
    ...(spec.metadata !== undefined ? { metadata: spec.metadata } : {}),
    inputs: [{ name: input, columns }],
    outputs: [{ name: output, columns: 2 }],
    initializers: [
      { name: "means", dims: [columns], values: means },
      { name: "scales", dims: [columns], values: scales },
      { name: "weights", dims: [columns, 1], values: [...spec.weights] },
      { name: "intercept", dims: [1], values: [spec.intercept] },
      { name: "one", dims: [1], values: [1] },
    ],
    nodes: [
      { op: "Sub", inputs: [input, "means"], outputs: ["centred"] },
      { op: "Div", inputs: ["centred", "scales"], outputs: ["standardised"] },
      { op: "MatMul", inputs: ["standardised", "weights"], outputs: ["dot"] },
      { op: "Add", inputs: ["dot", "intercept"], outputs: ["logit"] },
      { op: "Sigmoid", inputs: ["logit"], outputs: ["p1"] },
      { op: "Sub", inputs: ["one", "p1"], outputs: ["p0"] },
      { op: "Concat", inputs: ["p0", "p1"], outputs: [output], intAttributes: { axis: 1 } },
    ],
  });
}

/** Exports a linear regression as ONNX: (x − means) / scales → MatMul + intercept → output float32 [N, 1]. */
export function exportLinearRegressionOnnx(spec: LinearModelExport): Uint8Array {
  const { means, scales } = checkColumns(spec);
  const columns = spec.weights.length;
  const input = spec.inputName ?? "features";
  const output = spec.outputName ?? "prediction";
  return encodeOnnxModel({
    graphName: "loopline_linear_regression",
    producerName: "loopline-trainer/linear-regression",
    docString: `linear regression on ${columns} standardised columns`,
    ...(spec.opset !== undefined ? { opset: spec.opset } : {}),
    ...(spec.metadata !== undefined ? { metadata: spec.metadata } : {}),
    inputs: [{ name: input, columns }],
    outputs: [{ name: output, columns: 1 }],
    initializers: [
      { name: "means", dims: [columns], values: means },
      { name: "scales", dims: [columns], values: scales },
      { name: "weights", dims: [columns, 1], values: [...spec.weights] },
      { name: "intercept", dims: [1], values: [spec.intercept] },
    ],
    nodes: [
      { op: "Sub", inputs: [input, "means"], outputs: ["centred"] },
      { op: "Div", inputs: ["centred", "scales"], outputs: ["standardised"] },
      { op: "MatMul", inputs: ["standardised", "weights"], outputs: ["dot"] },
      { op: "Add", inputs: ["dot", "intercept"], outputs: [output] },
    ],
  });
}
