import { buildReferenceProfile, profileToJson, type ColumnSpec } from "@loopline/drift";
import { InputEncoding, type ModelSignature } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { compileSignature } from "@loopline/signature";
import { createRandom } from "./random.js";

/** The column of the reference profile that holds the model's scores (prediction drift). */
export const SCORE_COLUMN = "score";

/** Options of trainingProfile. */
export interface TrainingProfileOptions {
  /** Rows kept at most (a uniform sample, seeded); the registry limits a profile to 512 KiB. Default 2000. */
  maxRows?: number;
  /** Sample seed. Default 1. */
  seed?: number;
  /** Largest JSON size in bytes; the sample is halved until it fits. Default 480 KiB. */
  maxBytes?: number;
}

/**
 * The reference profile of a training set (packages/drift's JSON): one column per signature input
 * named by its feature ref — NUMBER inputs numerical with the encoded value (defaults included, as
 * serving logs them), ONE_HOT inputs categorical with the category that was hot (none = missing) —
 * plus `score`, the model's score on each row, so drift-monitor can measure prediction drift.
 */
export function trainingProfile(signature: ModelSignature, x: Float64Array, rows: number, scores: ArrayLike<number>, options: TrainingProfileOptions = {}): Uint8Array {
  const encoder = compileSignature(signature);
  const columns = encoder.columnCount;
  const maxBytes = options.maxBytes ?? 480 * 1024;
  let keep = Math.min(rows, options.maxRows ?? 2000);
  const order = Array.from({ length: rows }, (_, i) => i);
  const random = createRandom(options.seed ?? 1);
  for (let i = rows - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const specs: ColumnSpec[] = [
    ...encoder.inputs.map((input): ColumnSpec => ({ name: input.ref, kind: input.encoding === InputEncoding.ONE_HOT ? "categorical" : "numerical" })),
    { name: SCORE_COLUMN, kind: "numerical" },
  ];
  for (;;) {
    const picked = order.slice(0, keep).sort((a, b) => a - b);
    const data: Record<string, unknown[]> = {};
    for (const input of encoder.inputs) {
      data[input.ref] = picked.map((r) => {
        const start = r * columns + input.column;
        if (input.encoding !== InputEncoding.ONE_HOT) return x[start];
        const hot = input.categories.findIndex((_, k) => x[start + k] === 1);
        return hot < 0 ? null : input.categories[hot];
      });
    }
    data[SCORE_COLUMN] = picked.map((r) => scores[r]);
    const bytes = new TextEncoder().encode(JSON.stringify(profileToJson(buildReferenceProfile(specs, data))));
    if (bytes.length <= maxBytes || keep <= 50) return bytes;
    keep = Math.floor(keep / 2);
  }
}
