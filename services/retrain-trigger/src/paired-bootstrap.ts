import { createRandom, rocAuc } from "@loopline/trainer";

/** Two models' scores on the same labelled requests. */
export interface ScoredPairs {
  readonly labels: ArrayLike<number>;
  /** The champion's score per request. */
  readonly champion: ArrayLike<number>;
  /** The challenger's score per request. */
  readonly challenger: ArrayLike<number>;
}

/** The AUC difference (challenger − champion) and its bootstrap bounds. */
export interface AucDifference {
  readonly n: number;
  readonly championAuc: number;
  readonly challengerAuc: number;
  /** challengerAuc − championAuc on the full sample. */
  readonly difference: number;
  /** One-sided lower bound at `confidence` (the (1 − confidence) quantile of the resampled differences). */
  readonly lower: number;
  /** One-sided upper bound at `confidence`. */
  readonly upper: number;
  readonly confidence: number;
  /** Resamples used (resamples with a single class are redrawn, up to twice the budget). */
  readonly resamples: number;
}

/**
 * Paired bootstrap of the AUC difference: resample requests with replacement, keeping each request's
 * two scores together (that is what makes it paired: per-request difficulty cancels), recompute both
 * AUCs, and read percentile bounds of the differences. Seeded, so a decision can be reproduced.
 * Returns undefined when the sample lacks a class.
 */
export function pairedBootstrapAuc(pairs: ScoredPairs, options: { resamples: number; confidence: number; seed: number }): AucDifference | undefined {
  const n = pairs.labels.length;
  const championAuc = rocAuc(pairs.labels, pairs.champion);
  const challengerAuc = rocAuc(pairs.labels, pairs.challenger);
  if (championAuc === undefined || challengerAuc === undefined) return undefined;
  const random = createRandom(options.seed);
  const labels = new Float64Array(n);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const diffs: number[] = [];
  for (let draw = 0; diffs.length < options.resamples && draw < options.resamples * 2; draw++) {
    for (let i = 0; i < n; i++) {
      const k = random.int(n);
      labels[i] = pairs.labels[k]!;
      a[i] = pairs.champion[k]!;
      b[i] = pairs.challenger[k]!;
    }
    const ca = rocAuc(labels, a);
    const cb = rocAuc(labels, b);
    if (ca !== undefined && cb !== undefined) diffs.push(cb - ca);
  }
  diffs.sort((x, y) => x - y);
  const at = (q: number) => diffs[Math.min(diffs.length - 1, Math.max(0, Math.floor(q * diffs.length)))] ?? Number.NaN;
  return {
    n,
    championAuc,
    challengerAuc,
    difference: challengerAuc - championAuc,
    lower: at(1 - options.confidence),
    upper: at(options.confidence),
    confidence: options.confidence,
    resamples: diffs.length,
  };
}
