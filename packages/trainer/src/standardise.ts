/** Per-column centring and scaling, as scikit-learn's StandardScaler computes it. */
export interface Standardisation {
  /** Column means. */
  readonly means: number[];
  /** Column population standard deviations; a constant column gets 1 (StandardScaler's choice), so it stays 0 after centring. */
  readonly scales: number[];
}

/** Means and population standard deviations of a row-major matrix (two passes, for accuracy). */
export function fitStandardisation(x: Float64Array, rows: number, columns: number): Standardisation {
  const means = new Array<number>(columns).fill(0);
  const scales = new Array<number>(columns).fill(0);
  if (rows === 0) return { means, scales: scales.map(() => 1) };
  for (let i = 0; i < rows; i++) for (let j = 0; j < columns; j++) means[j]! += x[i * columns + j]!;
  for (let j = 0; j < columns; j++) means[j]! /= rows;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) {
      const d = x[i * columns + j]! - means[j]!;
      scales[j]! += d * d;
    }
  }
  for (let j = 0; j < columns; j++) {
    const std = Math.sqrt(scales[j]! / rows);
    // StandardScaler treats a scale below 10·eps·|mean| as zero and uses 1: a constant column stays 0.
    scales[j] = std < 10 * Number.EPSILON * Math.max(1, Math.abs(means[j]!)) ? 1 : std;
  }
  return { means, scales };
}

/** (x − mean) / scale for every cell, into a new matrix. */
export function applyStandardisation(x: Float64Array, rows: number, columns: number, s: Standardisation): Float64Array {
  const out = new Float64Array(rows * columns);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) out[i * columns + j] = (x[i * columns + j]! - s.means[j]!) / s.scales[j]!;
  }
  return out;
}
