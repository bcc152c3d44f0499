import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** A float32 constant baked into the graph (weights, means, scales...). */
export interface OnnxInitializer {
  /** Tensor name referenced by node inputs. */
  name: string;
  /** Dimensions, e.g. [3, 1]; [] for a scalar. */
  dims: readonly number[];
  /** Values in row-major order; their count must equal the product of dims. */
  values: readonly number[];
}

/** One operator of the graph. */
export interface OnnxNode {
  /** ONNX operator type, e.g. "MatMul", "Sigmoid". */
  op: string;
  /** Input tensor names. */
  inputs: readonly string[];
  /** Output tensor names. */
  outputs: readonly string[];
  /** Node name; default: "<op>_<index>". */
  name?: string;
  /** Integer attributes (e.g. Concat's axis). Default: none. */
  intAttributes?: Readonly<Record<string, number>>;
}

/** A graph input or output: a float32 tensor with a 2-D shape whose first dimension is the batch. */
export interface OnnxTensorValue {
  /** Tensor name. */
  name: string;
  /** Number of columns; the batch dimension is symbolic ("N"). */
  columns: number;
}

/** Options of encodeOnnxModel. */
export interface OnnxModelOptions {
  /** Graph name. */
  graphName: string;
  /** Graph inputs (float32, [N, columns]). */
  inputs: readonly OnnxTensorValue[];
  /** Graph outputs (float32, [N, columns]). */
  outputs: readonly OnnxTensorValue[];
  /** Constants. */
  initializers: readonly OnnxInitializer[];
  /** Operators in topological order. */
  nodes: readonly OnnxNode[];
  /** Default-domain opset. Default 13. */
  opset?: number;
  /** ModelProto.producer_name. Default "loopline-trainer". */
  producerName?: string;
  /** ModelProto.doc_string. Default none. */
  docString?: string;
  /** ModelProto.metadata_props (shown by Netron, readable from onnxruntime). Default none. */
  metadata?: Readonly<Record<string, string>>;
}

/** ONNX IR version written: 7 is what opset 13 was released with and every runtime since reads. */
const IR_VERSION = 7;

/** Encodes a float32 ONNX graph into ModelProto bytes (the .onnx file format). */
export function encodeOnnxModel(options: OnnxModelOptions): Uint8Array {
  const floatTensor = (value: OnnxTensorValue) =>
    onnx.ValueInfoProto.create({
      name: value.name,
      type: onnx.TypeProto.create({
        tensorType: onnx.TypeProto.Tensor.create({
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: onnx.TensorShapeProto.create({
            dim: [onnx.TensorShapeProto.Dimension.create({ dimParam: "N" }), onnx.TensorShapeProto.Dimension.create({ dimValue: value.columns })],
          }),
        }),
      }),
    });
  const initializers = options.initializers.map((init) => {
    const expected = init.dims.reduce((a, b) => a * b, 1);
    if (init.values.length !== expected) {
      throw new RangeError(`initializer ${init.name}: ${init.values.length} values for dims [${init.dims.join(", ")}] (expected ${expected})`);
    }
    return onnx.TensorProto.create({
      name: init.name,
      dims: [...init.dims],
      dataType: onnx.TensorProto.DataType.FLOAT,
      // raw_data is little-endian float32, the layout ONNX specifies whatever the host.
      rawData: float32LittleEndian(init.values),
    });
  });
  const nodes = options.nodes.map((node, index) =>
    onnx.NodeProto.create({
      name: node.name ?? `${node.op}_${index}`,
      opType: node.op,
      input: [...node.inputs],
      output: [...node.outputs],
      attribute: Object.entries(node.intAttributes ?? {}).map(([name, i]) =>
        onnx.AttributeProto.create({ name, i, type: onnx.AttributeProto.AttributeType.INT }),
      ),
    }),
  );
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: options.producerName ?? "loopline-trainer",
    docString: options.docString ?? "",
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: "", version: options.opset ?? 13 })],
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
    graph: onnx.GraphProto.create({
      name: options.graphName,
      input: options.inputs.map(floatTensor),
      output: options.outputs.map(floatTensor),
      initializer: initializers,
      node: nodes,
    }),
  });
  return onnx.ModelProto.encode(model).finish();
}

function float32LittleEndian(values: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytes;
}
