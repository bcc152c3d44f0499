import type { ModelSignature } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { TrainerError } from "./errors.js";
import { runExternalTrainer } from "./external-trainer.js";
import { fitGradientBoosting, type GradientBoostingOptions } from "./gradient-boosting.js";
import { exportLogisticRegressionOnnx } from "./logistic-regression-onnx.js";
import { fitLogisticRegression, type LogisticRegressionOptions } from "./logistic-regression.js";
import type { EncodedSet, TrainingSet, HoldoutSplit } from "./training-set.js";
import { exportGradientBoostingOnnx } from "./tree-ensemble-onnx.js";

/** What a trainer is handed: the encoded split, the raw set, and the contract it must produce. */
export interface FitInput {
  /** Training rows, encoded for `signature`. */
  readonly train: EncodedSet;
  /** Holdout rows, encoded the same way (external trainers may early-stop on them; nobody fits on them). */
  readonly holdout: EncodedSet;
  /** The raw set and its split (row indices). */
  readonly set: TrainingSet;
  readonly split: HoldoutSplit;
  /** The signature the ONNX must satisfy (input tensor, score output/index). */
  readonly signature: ModelSignature;
  /** Holdout share and seed, as recorded in lineage. */
  readonly holdoutFraction: number;
  readonly seed: number;
  /** Model name (for external trainers' spec). */
  readonly model: string;
}

/** What a trainer returns. */
export interface FitOutput {
  /** The ONNX model bytes. */
  readonly onnx: Uint8Array;
  /** Lineage.source, e.g. "loopline-trainer/logistic-regression". */
  readonly source: string;
  /** Hyper-parameters and diagnostics, recorded in Lineage.attributes. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Metrics the trainer reported itself (external trainers' metrics.json), recorded with an `reported_` prefix. */
  readonly reportedMetrics?: Readonly<Record<string, number>>;
  /** A reference profile the trainer wrote itself (JSON bytes); default: computed by Loopline. */
  readonly profile?: Uint8Array;
}

/** A trainer: built-in or an external command. */
export interface Trainer {
  /** The spec it was made from, e.g. "builtin:logistic". */
  readonly name: string;
  fit(input: FitInput): Promise<FitOutput>;
}

/** A parsed LOOPLINE_RETRAIN_TRAINER value. */
export type TrainerSpec = { readonly kind: "logistic" } | { readonly kind: "gbt" } | { readonly kind: "command"; readonly command: string };

/** Parses "builtin:logistic", "builtin:gbt" or "command:<path> [args…]"; throws TrainerError INVALID_TRAINER. */
export function parseTrainerSpec(text: string): TrainerSpec {
  const value = text.trim();
  if (value === "builtin:logistic") return { kind: "logistic" };
  if (value === "builtin:gbt") return { kind: "gbt" };
  if (value.startsWith("command:") && value.slice("command:".length).trim() !== "") return { kind: "command", command: value.slice("command:".length).trim() };
  throw new TrainerError("INVALID_TRAINER", `trainer "${text}": expected builtin:logistic, builtin:gbt or command:<path>`);
}

/** Options of createTrainer. */
export interface CreateTrainerOptions {
  /** Logistic regression settings (C, class weights...). Default: C = 1, no class weights. */
  logistic?: LogisticRegressionOptions;
  /** Gradient boosting settings (trees, depth, learning rate...). Default: 100 trees of depth 3, learning rate 0.1. */
  gbt?: GradientBoostingOptions;
  /** External command time limit, ms. Default 600000. */
  commandTimeoutMs?: number;
  /** Folder for external trainers' work folders. Default: the OS temp folder. */
  workDir?: string;
}

/** Builds the trainer a spec names. */
export function createTrainer(spec: TrainerSpec, options: CreateTrainerOptions = {}): Trainer {
  switch (spec.kind) {
    case "logistic":
      return createLogisticTrainer(options.logistic ?? {});
    case "gbt":
      return createGradientBoostingTrainer(options.gbt ?? {});
    case "command":
      return {
        name: `command:${spec.command}`,
        fit: (input) => runExternalTrainer(spec.command, input, { timeoutMs: options.commandTimeoutMs ?? 600_000, ...(options.workDir !== undefined ? { workDir: options.workDir } : {}) }),
      };
  }
}

/** The built-in trainer: standardisation + L2 logistic regression (Newton/IRLS), exported as ONNX. */
export function createLogisticTrainer(options: LogisticRegressionOptions): Trainer {
  return {
    name: "builtin:logistic",
    fit: (input) => {
      const started = Date.now();
      const model = fitLogisticRegression(input.train.x, input.train.rows, input.train.columns, input.train.y, options);
      const onnx = exportLogisticRegressionOnnx({
        weights: model.weights,
        intercept: model.intercept,
        means: model.standardisation.means,
        scales: model.standardisation.scales,
        inputName: input.signature.inputTensor,
        outputName: input.signature.scoreOutput,
        metadata: { model: input.model, columns: input.train.columnNames.join(",") },
      });
      return Promise.resolve({
        onnx,
        source: "loopline-trainer/logistic-regression",
        attributes: {
          algorithm: "logistic regression, L2, Newton/IRLS",
          c: String(options.c ?? 1),
          class_weight: options.classWeight === undefined ? "none" : options.classWeight === "balanced" ? "balanced" : JSON.stringify(options.classWeight),
          iterations: String(model.iterations),
          final_gradient: model.gradient.toExponential(3),
          fit_ms: String(Date.now() - started),
          weights: JSON.stringify(model.weights),
          intercept: String(model.intercept),
        },
      });
    },
  };
}

/** The built-in gradient-boosted trees (log loss, depth-limited, shrinkage), exported as an ai.onnx.ml TreeEnsembleClassifier. */
export function createGradientBoostingTrainer(options: GradientBoostingOptions): Trainer {
  return {
    name: "builtin:gbt",
    fit: (input) => {
      const started = Date.now();
      const model = fitGradientBoosting(input.train.x, input.train.rows, input.train.columns, input.train.y, options);
      const onnx = exportGradientBoostingOnnx(model, {
        inputName: input.signature.inputTensor,
        outputName: input.signature.scoreOutput,
        metadata: { model: input.model, columns: input.train.columnNames.join(",") },
      });
      return Promise.resolve({
        onnx,
        source: "loopline-trainer/gradient-boosting",
        attributes: {
          algorithm: "gradient-boosted trees, log loss, Friedman-MSE splits, Newton leaf steps",
          trees: String(model.trees.length),
          max_depth: String(options.maxDepth ?? 3),
          learning_rate: String(model.learningRate),
          min_samples_leaf: String(options.minSamplesLeaf ?? 1),
          fit_ms: String(Date.now() - started),
        },
      });
    },
  };
}
