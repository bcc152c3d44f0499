// Public API of @loopline/trainer: built-in trainers, ONNX export, training sets, holdout metrics,
// reference profiles and the contract for external trainers (any command that writes ONNX).

export { encodeOnnxModel } from "./onnx-model.js";
export type { OnnxInitializer, OnnxModelOptions, OnnxNode, OnnxTensorValue } from "./onnx-model.js";
export { ExportError, exportLinearRegressionOnnx, exportLogisticRegressionOnnx } from "./logistic-regression-onnx.js";
export type { LinearModelExport } from "./logistic-regression-onnx.js";
export { TrainerError } from "./errors.js";
export type { TrainerErrorCode } from "./errors.js";
export { createRandom, hashUniform } from "./random.js";
export type { Random } from "./random.js";
export { applyStandardisation, fitStandardisation } from "./standardise.js";
export type { Standardisation } from "./standardise.js";
export { fitLogisticRegression, predictLogistic } from "./logistic-regression.js";
export type { LogisticRegressionModel, LogisticRegressionOptions } from "./logistic-regression.js";
export { evaluateBinary, expectedCalibrationError, logLoss, maxF1Threshold, metricsMap, rocAuc } from "./metrics.js";
export type { BinaryMetrics } from "./metrics.js";
export { classBalance, encodeTrainingSet, splitHoldout, trainingSetSha256 } from "./training-set.js";
export type { EncodedSet, HoldoutSplit, LabelledExample, TrainingSet } from "./training-set.js";
export { createOnnxScorer } from "./onnx-scoring.js";
export type { OnnxLatency, OnnxScorer } from "./onnx-scoring.js";
export { SCORE_COLUMN, trainingProfile } from "./profile.js";
export type { TrainingProfileOptions } from "./profile.js";
export { fitGradientBoosting, predictGradientBoosting } from "./gradient-boosting.js";
export type { GradientBoostingModel, GradientBoostingOptions, RegressionTree } from "./gradient-boosting.js";
export { exportGradientBoostingOnnx } from "./tree-ensemble-onnx.js";
export type { TreeEnsembleExportOptions } from "./tree-ensemble-onnx.js";
export { createGradientBoostingTrainer, createLogisticTrainer, createTrainer, parseTrainerSpec } from "./trainers.js";
export type { CreateTrainerOptions, FitInput, FitOutput, Trainer, TrainerSpec } from "./trainers.js";
export { runExternalTrainer, TRAINER_SPEC_FORMAT, trainingCsv } from "./external-trainer.js";
export type { ExternalTrainerSpec } from "./external-trainer.js";
export { numericSignature, trainChallenger } from "./train-challenger.js";
export type { ThresholdChoice, TrainChallengerOptions, TrainedChallenger } from "./train-challenger.js";
