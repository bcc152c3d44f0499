/** Holdout metrics of a binary classifier's scores (what the offline gate and the registry read). */
export interface BinaryMetrics {
  /** Rows evaluated. */
  readonly rows: number;
  /** Positive labels among them. */
  readonly positives: number;
  /** ROC AUC (Mann–Whitney, ties counted half); undefined when only one class is present. */
  readonly auc: number | undefined;
  /** Mean negative log-likelihood, probabilities clipped to [ε, 1 − ε] (ε = 2⁻⁵², as scikit-learn). */
  readonly logLoss: number;
  /** Expected calibration error over 10 equal-width score bins (bin = min(⌊10·p⌋, 9)), weighted by bin size. */
  readonly calibrationError: number;
  /** Decision threshold the counts below use (score ≥ threshold is positive). */
  readonly threshold: number;
  readonly accuracy: number;
  /** TP / (TP + FP); 0 when nothing is predicted positive (scikit-learn's zero_division=0). */
  readonly precision: number;
  /** TP / (TP + FN); 0 without positives. */
  readonly recall: number;
}

/** ROC AUC as the Mann–Whitney statistic with average ranks for ties; undefined with one class only. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | undefined {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return undefined;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

const EPS = 2 ** -52;

/** Mean log loss with probabilities clipped to [ε, 1 − ε]. */
export function logLoss(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(Math.max(scores[i]!, EPS), 1 - EPS);
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return labels.length === 0 ? Number.NaN : sum / labels.length;
}

/** Expected calibration error: Σ_bins (n_b / n)·|mean label − mean score| over 10 equal-width bins. */
export function expectedCalibrationError(labels: ArrayLike<number>, scores: ArrayLike<number>, bins = 10): number {
  const count = new Float64Array(bins);
  const labelSum = new Float64Array(bins);
  const scoreSum = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    const s = scores[i]!;
    const b = Math.min(Math.max(Math.floor(s * bins), 0), bins - 1);
    count[b]!++;
    labelSum[b]! += labels[i]!;
    scoreSum[b]! += s;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b]! > 0) ece += (count[b]! / labels.length) * Math.abs(labelSum[b]! / count[b]! - scoreSum[b]! / count[b]!);
  return ece;
}

/** Every metric at once, at `threshold`. */
export function evaluateBinary(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold: number): BinaryMetrics {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  const rows = labels.length;
  return {
    rows,
    positives: tp + fn,
    auc: rocAuc(labels, scores),
    logLoss: logLoss(labels, scores),
    calibrationError: expectedCalibrationError(labels, scores),
    threshold,
    accuracy: rows === 0 ? 0 : (tp + tn) / rows,
    precision: tp + fp === 0 ? 0 : tp / (tp + fp),
    recall: tp + fn === 0 ? 0 : tp / (tp + fn),
  };
}

/**
 * The threshold maximising F1 over the given scores (every distinct score is a candidate; ties go to
 * the higher threshold, i.e. fewer alerts). Run it on the TRAINING scores, never on the holdout the
 * metrics are reported on, or the holdout figures are optimistic.
 */
export function maxF1Threshold(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const order = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] === 1 ? 1 : 0;
  let tp = 0;
  let predicted = 0;
  let best = 0.5;
  let bestF1 = -1;
  for (let k = 0; k < order.length; ) {
    const s = scores[order[k]!]!;
    while (k < order.length && scores[order[k]!] === s) {
      tp += labels[order[k]!] === 1 ? 1 : 0;
      predicted++;
      k++;
    }
    const f1 = positives + predicted === 0 ? 0 : (2 * tp) / (positives + predicted);
    if (f1 > bestF1) {
      bestF1 = f1;
      best = s;
    }
  }
  return best;
}

/** Metrics as the registry's `metrics` map (auc omitted when undefined). */
export function metricsMap(m: BinaryMetrics, prefix = ""): Record<string, number> {
  const out: Record<string, number> = {
    [`${prefix}log_loss`]: m.logLoss,
    [`${prefix}calibration_error`]: m.calibrationError,
    [`${prefix}accuracy`]: m.accuracy,
    [`${prefix}precision`]: m.precision,
    [`${prefix}recall`]: m.recall,
    [`${prefix}threshold`]: m.threshold,
    [`${prefix}rows`]: m.rows,
    [`${prefix}positives`]: m.positives,
  };
  if (m.auc !== undefined) out[`${prefix}auc`] = m.auc;
  return out;
}
