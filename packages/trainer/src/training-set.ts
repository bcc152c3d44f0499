import { createHash } from "node:crypto";
import { compileSignature } from "@loopline/signature";
import type { ModelSignature } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { FeatureStatus, type FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { TrainerError } from "./errors.js";
import { hashUniform } from "./random.js";

/** One labelled example with its features exactly as they were served (or replayed). */
export interface LabelledExample {
  /** Stable row identity (the request id): decides which side of the holdout split the row is on. */
  readonly id: string;
  /** When the prediction was made (or the replay instant), epoch ms. */
  readonly timeMs: number;
  /** Values in the set's `featureRefs` order; undefined = missing. */
  readonly values: readonly (FeatureValue | undefined)[];
  /** Statuses in the same order (UNSPECIFIED when the value did not come from a store). */
  readonly statuses: readonly FeatureStatus[];
  /** 0 or 1. */
  readonly label: number;
}

/** A training set: served feature values and labels, and how to rebuild it. */
export interface TrainingSet {
  /** Feature refs of every example's `values`, in order. */
  readonly featureRefs: readonly string[];
  readonly examples: readonly LabelledExample[];
  /** The SQL or replay spec that built it (recorded as Lineage.training_query). */
  readonly query: string;
}

/** A training set encoded for one signature: a row-major float matrix and the labels. */
export interface EncodedSet {
  /** rows × columns, each cell rounded to float32 exactly as serving encodes it. */
  readonly x: Float64Array;
  readonly rows: number;
  readonly columns: number;
  readonly y: Float64Array;
  /** Column names (the signature's: ref, or ref=category for ONE_HOT). */
  readonly columnNames: readonly string[];
}

/**
 * Encodes every example through @loopline/signature — the encoder the inference service uses —
 * so training sees exactly the columns serving builds (order, one-hot layout, defaults for missing).
 * Non-finite numbers are treated as missing. Throws TrainerError when the set lacks a signature input.
 */
export function encodeTrainingSet(set: TrainingSet, signature: ModelSignature, pick?: readonly number[]): EncodedSet {
  const encoder = compileSignature(signature, { nonFinite: "missing" });
  const index = new Map(set.featureRefs.map((ref, i) => [ref, i]));
  const source = encoder.featureRefs.map((ref) => {
    const i = index.get(ref);
    if (i === undefined) throw new TrainerError("INVALID_ARGUMENT", `the training set has no feature ${ref} (it has ${set.featureRefs.join(", ")})`);
    return i;
  });
  const rowsOf = pick ?? set.examples.map((_, i) => i);
  const columns = encoder.columnCount;
  const row = new Float32Array(columns);
  const x = new Float64Array(rowsOf.length * columns);
  const y = new Float64Array(rowsOf.length);
  rowsOf.forEach((r, k) => {
    const example = set.examples[r];
    if (example === undefined) throw new RangeError(`row ${r} out of range`);
    for (let i = 0; i < source.length; i++) {
      const from = source[i]!;
      encoder.encodeInput(i, example.values[from], example.statuses[from] ?? FeatureStatus.UNSPECIFIED, row, 0);
    }
    x.set(row, k * columns);
    y[k] = example.label;
  });
  return { x, rows: rowsOf.length, columns, y, columnNames: encoder.columnNames };
}

/** Row indices on each side of a holdout split. */
export interface HoldoutSplit {
  readonly train: number[];
  readonly holdout: number[];
}

/**
 * Splits by a hash of each example's id and the seed: a row's side depends only on (id, seed), so the
 * champion and every challenger are judged on the same holdout rows, and a rebuilt set splits the same.
 */
export function splitHoldout(set: TrainingSet, fraction: number, seed: number): HoldoutSplit {
  if (!(fraction > 0 && fraction < 1)) throw new TrainerError("INVALID_ARGUMENT", `holdout fraction ${fraction} must be in (0, 1)`);
  const train: number[] = [];
  const holdout: number[] = [];
  set.examples.forEach((e, i) => (hashUniform(e.id, seed) < fraction ? holdout : train).push(i));
  return { train, holdout };
}

/** Class balance of a set: rows, positives and their share. */
export function classBalance(set: TrainingSet): { rows: number; positives: number; positiveShare: number } {
  const positives = set.examples.reduce((n, e) => n + (e.label === 1 ? 1 : 0), 0);
  return { rows: set.examples.length, positives, positiveShare: set.examples.length === 0 ? 0 : positives / set.examples.length };
}

const valueText = (v: FeatureValue | undefined): string => {
  const kind = v?.kind;
  switch (kind?.case) {
    case "number":
      return `n:${Object.is(kind.value, -0) ? "0" : String(kind.value)}`;
    case "integer":
      return `i:${kind.value.toString()}`;
    case "text":
      return `t:${JSON.stringify(kind.value)}`;
    case "flag":
      return `b:${kind.value ? 1 : 0}`;
    default:
      return "-";
  }
};

/**
 * sha256 (hex) of the set as the trainer sees it: the feature refs, then one line per example (id,
 * time, label, typed values, statuses) in the set's order. Rebuilding the set from its recorded query
 * and hashing it again proves it is the same data.
 */
export function trainingSetSha256(set: TrainingSet): string {
  const hash = createHash("sha256");
  hash.update(`${JSON.stringify(set.featureRefs)}\n`);
  for (const e of set.examples) {
    hash.update(`${JSON.stringify(e.id)}\t${e.timeMs}\t${e.label}\t${e.values.map(valueText).join(",")}\t${e.statuses.join(",")}\n`);
  }
  return hash.digest("hex");
}
