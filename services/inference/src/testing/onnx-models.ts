// Tiny ONNX models built by hand with onnx-proto, for tests and benchmarks: their outputs can be
// worked out on paper, so a test's expected values never come from the code under test.
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
type DataType = onnxProto.onnx.TensorProto.DataType;
const T = onnx.TensorProto.DataType;

/** An element type usable in these helpers. */
export type ElementType = "float" | "double" | "int64" | "bool" | "string";

const ELEMENT: Record<ElementType, DataType> = { float: T.FLOAT, double: T.DOUBLE, int64: T.INT64, bool: T.BOOL, string: T.STRING };

function valueInfo(name: string, type: ElementType, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT[type],
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function floatTensor(name: string, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: T.FLOAT, floatData: values };
}

function encodeModel(graph: onnxProto.onnx.IGraphProto): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "loopline-test",
    opsetImport: [{ domain: "", version: 17 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Options of linearSigmoidModel. */
export interface LinearModelOptions {
  /** Weights w, one per input column. */
  weights: readonly number[];
  /** Bias b. */
  bias: number;
  /** Input tensor name. Default "x". */
  inputName?: string;
  /** Batch dimension: a symbolic name (dynamic, the default "batch") or a fixed size. */
  batch?: string | number;
}

/**
 * z = x·w + b, p = sigmoid(z). Input `x` float32 [batch, len(w)]; outputs `logit` [batch, 1] = z and
 * `probability` [batch, 2] = [1 - p, p] (scikit-learn's predict_proba layout: score_index 1).
 */
export function linearSigmoidModel(options: LinearModelOptions): Uint8Array {
  const d = options.weights.length;
  const input = options.inputName ?? "x";
  const batch = options.batch ?? "batch";
  return encodeModel({
    name: "linear_sigmoid",
    node: [
      { opType: "MatMul", input: [input, "W"], output: ["xw"] },
      { opType: "Add", input: ["xw", "B"], output: ["logit"] },
      { opType: "Sigmoid", input: ["logit"], output: ["p"] },
      { opType: "Sub", input: ["ONE", "p"], output: ["q"] },
      { opType: "Concat", input: ["q", "p"], output: ["probability"], attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
    ],
    initializer: [floatTensor("W", [d, 1], [...options.weights]), floatTensor("B", [1], [options.bias]), floatTensor("ONE", [1], [1])],
    input: [valueInfo(input, "float", [batch, d])],
    output: [valueInfo("logit", "float", [batch, 1]), valueInfo("probability", "float", [batch, 2])],
  });
}

/**
 * One input per element type, each passed through Identity to an output of the same type:
 * `f` float [batch, 2] → `f_out`, `d` double [batch, 1] → `d_out`, `i` int64 [batch, 1] → `i_out`,
 * `b` bool [batch, 1] → `b_out`, `s` string [batch, 1] → `s_out`. What goes in comes out, so
 * datatype conversions are checked exactly.
 */
export function identityModel(): Uint8Array {
  const specs: [string, ElementType, number][] = [
    ["f", "float", 2],
    ["d", "double", 1],
    ["i", "int64", 1],
    ["b", "bool", 1],
    ["s", "string", 1],
  ];
  return encodeModel({
    name: "identity",
    node: specs.map(([name]) => ({ opType: "Identity", input: [name], output: [`${name}_out`] })),
    input: specs.map(([name, type, width]) => valueInfo(name, type, ["batch", width])),
    output: specs.map(([name, type, width]) => valueInfo(`${name}_out`, type, ["batch", width])),
  });
}

/** sigmoid(z) computed in float64, for expected values worked out independently of onnxruntime. */
export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}
