import { create } from "@bufbuild/protobuf";
import { InputEncoding, MissingPolicy, ModelSignatureSchema, type ModelSignature } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { TrainerError } from "./errors.js";
import { evaluateBinary, maxF1Threshold, metricsMap, type BinaryMetrics } from "./metrics.js";
import { createOnnxScorer, type OnnxLatency } from "./onnx-scoring.js";
import { trainingProfile } from "./profile.js";
import type { Trainer } from "./trainers.js";
import { classBalance, encodeTrainingSet, splitHoldout, trainingSetSha256, type HoldoutSplit, type TrainingSet } from "./training-set.js";

/** How the decision threshold is set: a fixed score, or the F1-maximising score on the TRAINING rows. */
export type ThresholdChoice = number | "max_f1";

/** Options of trainChallenger. */
export interface TrainChallengerOptions {
  /** Model name. */
  model: string;
  trainer: Trainer;
  set: TrainingSet;
  /** The contract the challenger must satisfy (inputs, tensor names); its threshold is replaced per `threshold`. */
  signature: ModelSignature;
  /** Default 0.5. */
  threshold?: ThresholdChoice;
  /** Share of rows held out (by hash of row id and seed). Default 0.25. */
  holdoutFraction?: number;
  /** Default 42. */
  seed?: number;
  /** The version this challenger would replace (Lineage.parent_version). Default "". */
  parentVersion?: string;
  /** Time single-row ONNX runs for the latency gate. Default true. */
  measureLatency?: boolean;
}

/** A trained, evaluated challenger ready to be gated and registered. */
export interface TrainedChallenger {
  readonly onnx: Uint8Array;
  /** The signature with the chosen threshold and score range [0, 1]. */
  readonly signature: ModelSignature;
  /** Holdout metrics of the ONNX model as onnxruntime scores it. */
  readonly holdout: BinaryMetrics;
  /** Training-row metrics (same scorer). */
  readonly train: BinaryMetrics;
  /** Holdout scores, in `split.holdout` order (the offline gate pairs them with the champion's). */
  readonly holdoutScores: Float64Array;
  readonly holdoutLabels: Float64Array;
  readonly split: HoldoutSplit;
  readonly latency: OnnxLatency | undefined;
  /** Reference profile JSON bytes (encoded feature columns + "score"). */
  readonly profile: Uint8Array;
  /** Registry metrics map: holdout metrics plus `train_*` and `reported_*` ones. */
  readonly metrics: Record<string, number>;
  /** Lineage fields. */
  readonly lineage: {
    readonly source: string;
    readonly trainingQuery: string;
    readonly trainingRows: number;
    readonly trainingDataSha256: string;
    readonly parentVersion: string;
    readonly attributes: Record<string, string>;
  };
}

/** A signature of NUMBER inputs (default 0) over feature refs: input "features", output "probability"[:, 1]. */
export function numericSignature(featureRefs: readonly string[], threshold = 0.5): ModelSignature {
  return create(ModelSignatureSchema, {
    inputTensor: "features",
    inputs: featureRefs.map((featureRef) => ({ featureRef, encoding: InputEncoding.NUMBER, defaultValue: 0 })),
    outputs: [{ name: "probability", meaning: "[P(class 0), P(class 1)]" }],
    scoreOutput: "probability",
    scoreIndex: 1,
    threshold,
    missingPolicy: MissingPolicy.DEFAULT,
    scoreMin: 0,
    scoreMax: 1,
  });
}

/**
 * Splits the set (hash of row id + seed), encodes it through the signature, fits with the trainer,
 * then judges the ONNX bytes themselves: onnxruntime scores the holdout (so built-in and external
 * trainers are measured the same way), the threshold is chosen, the reference profile is computed on
 * the training rows, and lineage records query, row count and the data's sha256.
 */
export async function trainChallenger(options: TrainChallengerOptions): Promise<TrainedChallenger> {
  const holdoutFraction = options.holdoutFraction ?? 0.25;
  const seed = options.seed ?? 42;
  const { set } = options;
  const balance = classBalance(set);
  if (balance.rows === 0) throw new TrainerError("EMPTY_TRAINING_SET", `no labelled rows (${set.query})`);
  const split = splitHoldout(set, holdoutFraction, seed);
  if (split.holdout.length === 0 || split.train.length === 0) throw new TrainerError("EMPTY_TRAINING_SET", `${balance.rows} rows leave an empty train or holdout side`);
  const signature = create(ModelSignatureSchema, { ...options.signature, scoreMin: 0, scoreMax: 1 });
  const train = encodeTrainingSet(set, signature, split.train);
  const holdout = encodeTrainingSet(set, signature, split.holdout);
  const fit = await options.trainer.fit({ train, holdout, set, split, signature, holdoutFraction, seed, model: options.model });
  const scorer = await createOnnxScorer(fit.onnx, signature, train.columns);
  try {
    const trainScores = await scorer.score(train.x, train.rows);
    const holdoutScores = await scorer.score(holdout.x, holdout.rows);
    const choice = options.threshold ?? 0.5;
    const threshold = choice === "max_f1" ? maxF1Threshold(train.y, trainScores) : choice;
    signature.threshold = threshold;
    const holdoutMetrics = evaluateBinary(holdout.y, holdoutScores, threshold);
    const trainMetrics = evaluateBinary(train.y, trainScores, threshold);
    const latency = options.measureLatency === false ? undefined : await scorer.latency(holdout.x, holdout.rows);
    const profile = fit.profile ?? trainingProfile(signature, train.x, train.rows, trainScores, { seed });
    const metrics: Record<string, number> = {
      ...metricsMap(holdoutMetrics),
      ...metricsMap(trainMetrics, "train_"),
      ...Object.fromEntries(Object.entries(fit.reportedMetrics ?? {}).map(([k, v]) => [`reported_${k}`, v])),
      ...(latency !== undefined ? { latency_p50_ms: latency.singleRowP50Ms, latency_p99_ms: latency.singleRowP99Ms, latency_batched_row_ms: latency.batchedPerRowMs } : {}),
    };
    return {
      onnx: fit.onnx,
      signature,
      holdout: holdoutMetrics,
      train: trainMetrics,
      holdoutScores,
      holdoutLabels: holdout.y,
      split,
      latency,
      profile,
      metrics,
      lineage: {
        source: fit.source,
        trainingQuery: set.query,
        trainingRows: balance.rows,
        trainingDataSha256: trainingSetSha256(set),
        parentVersion: options.parentVersion ?? "",
        attributes: {
          ...fit.attributes,
          trainer: options.trainer.name,
          holdout_fraction: String(holdoutFraction),
          seed: String(seed),
          threshold_choice: String(choice),
          train_rows: String(train.rows),
          holdout_rows: String(holdout.rows),
          positives: String(balance.positives),
          positive_share: balance.positiveShare.toFixed(6),
        },
      },
    };
  } finally {
    await scorer.close();
  }
}
