// Public API of @loopline/trainer: ONNX export of Loopline's built-in models. External trainers
// need nothing from here: any framework that writes ONNX can register a model.

export { encodeOnnxModel } from "./onnx-model.js";
export type { OnnxInitializer, OnnxModelOptions, OnnxNode, OnnxTensorValue } from "./onnx-model.js";
export { ExportError, exportLinearRegressionOnnx, exportLogisticRegressionOnnx } from "./logistic-regression-onnx.js";
export type { LinearModelExport } from "./logistic-regression-onnx.js";
