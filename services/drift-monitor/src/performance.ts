// Labelled performance of a binary classifier from its scores and 0/1 labels: the numbers scikit-learn's
// roc_auc_score, accuracy/precision/recall, log_loss and calibration_curve give for the same input.
// Pure functions, no I/O; every one is checked against fixtures/performance.json.

/** float64 machine epsilon: log_loss clips probabilities to [EPS, 1 - EPS] (scikit-learn ≥ 1.5). */
export const LOG_LOSS_EPS = 2.220446049250313e-16;

/** Equal-width score bins of the calibration error (scikit-learn calibration_curve, strategy="uniform"). */
export const CALIBRATION_BINS = 10;

/**
 * ROC AUC with ties counted as half (the Mann–Whitney U statistic over average ranks, which equals the area
 * under scikit-learn's ROC curve); undefined when only one class is present.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | undefined {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let positiveRankSum = 0;
  for (let i = 0; i < n; ) {
    // A run of tied scores shares the average of its 1-based ranks i+1 .. j.
    let j = i + 1;
    while (j < n && scores[order[j]!] === scores[order[i]!]) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        positiveRankSum += rank;
      }
    }
    i = j;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return undefined;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Confusion counts of `score >= threshold` (the inference service's decision) against the labels. */
export interface Confusion {
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly trueNegatives: number;
  readonly falseNegatives: number;
}

/** Counts the confusion matrix at a decision threshold. */
export function confusionAt(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): Confusion {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return { truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn };
}

/** accuracy, precision and recall of a confusion matrix; a ratio with nothing to divide by is 0 (scikit-learn zero_division=0). */
export function classificationRates(c: Confusion): { accuracy: number; precision: number; recall: number } {
  const n = c.truePositives + c.falsePositives + c.trueNegatives + c.falseNegatives;
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    accuracy: ratio(c.truePositives + c.trueNegatives, n),
    precision: ratio(c.truePositives, c.truePositives + c.falsePositives),
    recall: ratio(c.truePositives, c.truePositives + c.falseNegatives),
  };
}

function clip(x: number, low: number, high: number): number {
  return x < low ? low : x > high ? high : x;
}

/**
 * Mean binary cross-entropy (natural log). As scikit-learn does, the score p and 1 - p are each clipped to
 * [LOG_LOSS_EPS, 1 - LOG_LOSS_EPS] before the logarithm, so a confidently wrong answer costs -ln(eps) ≈ 36.04
 * rather than infinity. Scores outside [0, 1] are first clipped into it. NaN for an empty input.
 */
export function logLoss(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = clip(scores[i]!, 0, 1);
    const q = labels[i] === 1 ? clip(p, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS) : clip(1 - p, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS);
    sum -= Math.log(q);
  }
  return sum / scores.length;
}

/** One calibration bin. */
export interface CalibrationBin {
  /** Scores in the bin. */
  readonly count: number;
  /** Mean score of the bin (NaN when empty). */
  readonly meanScore: number;
  /** Share of positives in the bin (NaN when empty). */
  readonly positiveRate: number;
}

/** Calibration over equal-width bins and the expected calibration error. */
export interface Calibration {
  /** CALIBRATION_BINS bins over [0, 1], empty ones included. */
  readonly bins: readonly CalibrationBin[];
  /** Σ count/n · |positiveRate − meanScore| over the non-empty bins. NaN for an empty input. */
  readonly expectedCalibrationError: number;
}

/**
 * Reliability bins and expected calibration error. Bin edges are k/10 computed as numpy's linspace does
 * (k · 0.1), and a score on an inner edge falls into the lower bin, exactly as calibration_curve assigns
 * it (searchsorted over the inner edges): bins are [0, 0.1], (0.1, 0.2], …, (0.9, 1]. Scores outside
 * [0, 1] are clipped into it.
 */
export function calibration(scores: ArrayLike<number>, labels: ArrayLike<number>, bins = CALIBRATION_BINS): Calibration {
  const step = 1 / bins;
  const inner = Array.from({ length: bins - 1 }, (_, k) => (k + 1) * step);
  const counts = new Float64Array(bins);
  const scoreSums = new Float64Array(bins);
  const positives = new Float64Array(bins);
  for (let i = 0; i < scores.length; i++) {
    const p = clip(scores[i]!, 0, 1);
    // First inner edge >= p (numpy searchsorted, side "left"); few bins, so a linear scan is enough.
    let b = 0;
    while (b < inner.length && inner[b]! < p) b++;
    counts[b] = counts[b]! + 1;
    scoreSums[b] = scoreSums[b]! + p;
    if (labels[i] === 1) positives[b] = positives[b]! + 1;
  }
  let ece = 0;
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const count = counts[b]!;
    const meanScore = count === 0 ? Number.NaN : scoreSums[b]! / count;
    const positiveRate = count === 0 ? Number.NaN : positives[b]! / count;
    if (count > 0) ece += (count / scores.length) * Math.abs(positiveRate - meanScore);
    out.push({ count, meanScore, positiveRate });
  }
  return { bins: out, expectedCalibrationError: scores.length === 0 ? Number.NaN : ece };
}

/** Everything a drift report says about labelled performance. */
export interface PerformanceSummary {
  /** Labelled predictions. */
  readonly labelled: number;
  /** Positives among them. */
  readonly positives: number;
  /** ROC AUC; undefined when only one class is present. */
  readonly auc: number | undefined;
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly logLoss: number;
  /** Expected calibration error over CALIBRATION_BINS bins. */
  readonly calibrationError: number;
  /** Decision threshold of accuracy, precision and recall. */
  readonly threshold: number;
}

/** Labelled performance of scores against 0/1 labels at a threshold; undefined when nothing is labelled. */
export function summarizePerformance(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): PerformanceSummary | undefined {
  if (scores.length !== labels.length) throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  if (scores.length === 0) return undefined;
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) positives++;
  return {
    labelled: scores.length,
    positives,
    auc: rocAuc(scores, labels),
    ...classificationRates(confusionAt(scores, labels, threshold)),
    logLoss: logLoss(scores, labels),
    calibrationError: calibration(scores, labels).expectedCalibrationError,
    threshold,
  };
}
