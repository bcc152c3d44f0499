import onnxProto from "onnx-proto";
import type { GradientBoostingModel } from "./gradient-boosting.js";

const { onnx } = onnxProto;

/** Options of exportGradientBoostingOnnx. */
export interface TreeEnsembleExportOptions {
  /** Name of the float32 [N, F] input. Default "features". */
  inputName?: string;
  /** Name of the float32 [N, 2] probability output. Default "probability". */
  outputName?: string;
  /** ONNX metadata_props. Default none. */
  metadata?: Readonly<Record<string, string>>;
}

const text = (s: string) => new TextEncoder().encode(s);
const A = onnx.AttributeProto.AttributeType;
const ints = (name: string, values: number[]) => onnx.AttributeProto.create({ name, type: A.INTS, ints: values });
const floats = (name: string, values: number[]) => onnx.AttributeProto.create({ name, type: A.FLOATS, floats: values });
const strings = (name: string, values: string[]) => onnx.AttributeProto.create({ name, type: A.STRINGS, strings: values.map(text) });

/**
 * Exports a binary gradient-boosting model as one ai.onnx.ml TreeEnsembleClassifier (opset 1, the
 * layout skl2onnx writes for scikit-learn's GradientBoostingClassifier): BRANCH_LEQ nodes, one weight
 * per leaf for class id 0 (learningRate × leaf value), base value = init, post_transform LOGISTIC, so
 * the runtime's binary case outputs [1 − σ(raw), σ(raw)]. The label output stays internal: the graph
 * has a single float32 [N, 2] output, like the logistic regression export.
 */
export function exportGradientBoostingOnnx(model: GradientBoostingModel, options: TreeEnsembleExportOptions = {}): Uint8Array {
  const input = options.inputName ?? "features";
  const output = options.outputName ?? "probability";
  const n = { treeIds: [] as number[], nodeIds: [] as number[], featureIds: [] as number[], modes: [] as string[], values: [] as number[], trueIds: [] as number[], falseIds: [] as number[] };
  const c = { treeIds: [] as number[], nodeIds: [] as number[], classIds: [] as number[], weights: [] as number[] };
  model.trees.forEach((tree, t) => {
    for (let node = 0; node < tree.feature.length; node++) {
      const leaf = tree.feature[node]! < 0;
      n.treeIds.push(t);
      n.nodeIds.push(node);
      n.featureIds.push(leaf ? 0 : tree.feature[node]!);
      n.modes.push(leaf ? "LEAF" : "BRANCH_LEQ");
      n.values.push(leaf ? 0 : tree.threshold[node]!);
      n.trueIds.push(leaf ? 0 : tree.left[node]!);
      n.falseIds.push(leaf ? 0 : tree.right[node]!);
      if (leaf) {
        c.treeIds.push(t);
        c.nodeIds.push(node);
        c.classIds.push(0);
        c.weights.push(model.learningRate * tree.value[node]!);
      }
    }
  });
  const tensor = (name: string, elemType: number, dims: (number | string)[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: onnx.TypeProto.create({
        tensorType: onnx.TypeProto.Tensor.create({
          elemType,
          shape: onnx.TensorShapeProto.create({ dim: dims.map((d) => (typeof d === "string" ? onnx.TensorShapeProto.Dimension.create({ dimParam: d }) : onnx.TensorShapeProto.Dimension.create({ dimValue: d }))) }),
        }),
      }),
    });
  const node = onnx.NodeProto.create({
    name: "gradient_boosting",
    opType: "TreeEnsembleClassifier",
    domain: "ai.onnx.ml",
    input: [input],
    output: ["label", output],
    attribute: [
      floats("base_values", [model.init]),
      ints("class_ids", c.classIds),
      ints("class_nodeids", c.nodeIds),
      ints("class_treeids", c.treeIds),
      floats("class_weights", c.weights),
      ints("classlabels_int64s", [0, 1]),
      ints("nodes_falsenodeids", n.falseIds),
      ints("nodes_featureids", n.featureIds),
      floats("nodes_hitrates", n.values.map(() => 1)),
      ints("nodes_missing_value_tracks_true", n.values.map(() => 0)),
      strings("nodes_modes", n.modes),
      ints("nodes_nodeids", n.nodeIds),
      ints("nodes_treeids", n.treeIds),
      ints("nodes_truenodeids", n.trueIds),
      floats("nodes_values", n.values),
      onnx.AttributeProto.create({ name: "post_transform", type: A.STRING, s: text("LOGISTIC") }),
    ],
  });
  const proto = onnx.ModelProto.create({
    irVersion: 7,
    producerName: "loopline-trainer/gradient-boosting",
    docString: `gradient boosting: ${model.trees.length} trees, learning rate ${model.learningRate}; ${output}[:, 1] = P(class 1)`,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: "", version: 13 }), onnx.OperatorSetIdProto.create({ domain: "ai.onnx.ml", version: 1 })],
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
    graph: onnx.GraphProto.create({
      name: "loopline_gradient_boosting",
      input: [tensor(input, onnx.TensorProto.DataType.FLOAT, ["N", model.columns])],
      output: [tensor(output, onnx.TensorProto.DataType.FLOAT, ["N", 2])],
      node: [node],
    }),
  });
  return onnx.ModelProto.encode(proto).finish();
}
