import { TrainerError } from "./errors.js";
import { applyStandardisation, fitStandardisation, type Standardisation } from "./standardise.js";

/** Options of fitLogisticRegression. */
export interface LogisticRegressionOptions {
  /** Inverse L2 strength, scikit-learn's C: the objective is C·Σ wᵢ·logloss + ½‖β‖². Default 1. */
  c?: number;
  /** "balanced" (n / (2·n_class), scikit-learn's meaning), explicit weights per class, or none. Default none. */
  classWeight?: "balanced" | { readonly negative: number; readonly positive: number };
  /** Standardise columns first (StandardScaler: population std, constant columns scale 1). Default true. */
  standardise?: boolean;
  /** Newton iterations at most. Default 100. */
  maxIterations?: number;
  /** Converged when max |∂f/∂θ| / Σwᵢ ≤ this. Default 1e-10. */
  tolerance?: number;
}

/** A fitted logistic regression: coefficients apply to standardised columns. */
export interface LogisticRegressionModel {
  /** Coefficient per column (standardised space). */
  readonly weights: number[];
  readonly intercept: number;
  /** Centring/scaling applied before the dot product (zeros and ones when standardise was off). */
  readonly standardisation: Standardisation;
  /** Newton iterations taken. */
  readonly iterations: number;
  /** Largest absolute gradient component (per unit sample weight) at the end. */
  readonly gradient: number;
}

/** Largest per-weight gradient accepted when Newton can no longer decrease the objective. */
const STALL_GRADIENT = 1e-7;

const log1pExp = (z: number): number => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** P(class 1) for each row of a row-major matrix (raw, unstandardised columns). */
export function predictLogistic(model: LogisticRegressionModel, x: Float64Array, rows: number): Float64Array {
  const columns = model.weights.length;
  const { means, scales } = model.standardisation;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = model.intercept;
    for (let j = 0; j < columns; j++) z += (model.weights[j]! * (x[i * columns + j]! - means[j]!)) / scales[j]!;
    out[i] = sigmoid(z);
  }
  return out;
}

/**
 * Fits L2-regularised logistic regression by Newton's method (IRLS) with a backtracking line
 * search, the same optimum scikit-learn's LogisticRegression(C) reaches (its "newton-cholesky"
 * solver is the same algorithm): minimise C·Σ wᵢ·[log(1 + e^zᵢ) − yᵢzᵢ] + ½‖β‖², intercept not
 * penalised. The objective is strictly convex, so Newton converges quadratically; each iteration
 * costs O(n·d²) and a Cholesky solve of d+1 unknowns, fine for the tens of features a model takes.
 * Throws TrainerError (EMPTY_TRAINING_SET, ONE_CLASS, INVALID_ARGUMENT, NOT_CONVERGED).
 */
export function fitLogisticRegression(x: Float64Array, rows: number, columns: number, y: ArrayLike<number>, options: LogisticRegressionOptions = {}): LogisticRegressionModel {
  const c = options.c ?? 1;
  if (!(c > 0) || !Number.isFinite(c)) throw new TrainerError("INVALID_ARGUMENT", `c: ${c} must be a positive finite number`);
  if (rows === 0) throw new TrainerError("EMPTY_TRAINING_SET", "no training rows");
  if (x.length !== rows * columns) throw new TrainerError("INVALID_ARGUMENT", `x: ${x.length} values for ${rows}×${columns}`);
  if (y.length !== rows) throw new TrainerError("INVALID_ARGUMENT", `y: ${y.length} labels for ${rows} rows`);
  let positives = 0;
  for (let i = 0; i < rows; i++) {
    const label = y[i]!;
    if (label !== 0 && label !== 1) throw new TrainerError("INVALID_ARGUMENT", `y[${i}]: ${label} is not 0 or 1`);
    positives += label;
  }
  if (positives === 0 || positives === rows) throw new TrainerError("ONE_CLASS", `all ${rows} labels are ${positives === 0 ? 0 : 1}; a classifier needs both classes`);
  for (let k = 0; k < x.length; k++) {
    if (!Number.isFinite(x[k]!)) throw new TrainerError("INVALID_ARGUMENT", `x[row ${Math.floor(k / columns)}, column ${k % columns}] is not finite`);
  }

  const standardisation = options.standardise === false ? { means: new Array<number>(columns).fill(0), scales: new Array<number>(columns).fill(1) } : fitStandardisation(x, rows, columns);
  const xs = options.standardise === false ? x : applyStandardisation(x, rows, columns, standardisation);
  const cw = options.classWeight;
  const weightOf =
    cw === undefined ? () => 1 : cw === "balanced" ? (label: number) => (label === 1 ? rows / (2 * positives) : rows / (2 * (rows - positives))) : (label: number) => (label === 1 ? cw.positive : cw.negative);
  const w = new Float64Array(rows);
  let weightSum = 0;
  for (let i = 0; i < rows; i++) {
    w[i] = weightOf(y[i]!);
    weightSum += w[i]!;
  }

  // θ = [β₀ … β_{d−1}, intercept]; the objective is divided by C so the penalty is ‖β‖²/(2C).
  const p = columns + 1;
  // Rows with a trailing 1 (the intercept's column): the Hessian loop then has no branch.
  const design = new Float64Array(rows * p);
  for (let i = 0; i < rows; i++) {
    design.set(xs.subarray(i * columns, (i + 1) * columns), i * p);
    design[i * p + columns] = 1;
  }
  const theta = new Float64Array(p);
  const lambda = 1 / c;
  const z = new Float64Array(rows);
  const objective = (t: Float64Array): number => {
    let f = 0;
    for (let i = 0; i < rows; i++) {
      let zi = t[columns]!;
      for (let j = 0; j < columns; j++) zi += t[j]! * xs[i * columns + j]!;
      z[i] = zi;
      f += w[i]! * (log1pExp(zi) - y[i]! * zi);
    }
    for (let j = 0; j < columns; j++) f += 0.5 * lambda * t[j]! * t[j]!;
    return f;
  };

  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-10;
  let f = objective(theta);
  let gradientMax = Number.POSITIVE_INFINITY;
  const g = new Float64Array(p);
  const h = new Float64Array(p * p);
  const candidate = new Float64Array(p);
  for (let iteration = 0; iteration <= maxIterations; iteration++) {
    g.fill(0);
    h.fill(0);
    // z holds the linear predictor at theta (objective() was last evaluated there).
    for (let i = 0; i < rows; i++) {
      const pi = sigmoid(z[i]!);
      const r = w[i]! * (pi - y[i]!);
      const s = w[i]! * pi * (1 - pi);
      const row = i * p;
      for (let a = 0; a < p; a++) {
        const xa = design[row + a]!;
        g[a]! += r * xa;
        const sxa = s * xa;
        const ha = a * p;
        for (let b = 0; b <= a; b++) h[ha + b]! += sxa * design[row + b]!;
      }
    }
    for (let j = 0; j < columns; j++) {
      g[j]! += lambda * theta[j]!;
      h[j * p + j]! += lambda;
    }
    gradientMax = 0;
    for (let a = 0; a < p; a++) gradientMax = Math.max(gradientMax, Math.abs(g[a]!));
    gradientMax /= weightSum;
    if (gradientMax <= tolerance) {
      return finish(theta, columns, standardisation, iteration, gradientMax);
    }
    if (iteration === maxIterations) break;
    const step = solveCholesky(h, g, p);
    // Backtracking (Armijo): full Newton steps near the optimum, shorter ones far from it.
    let slope = 0;
    for (let a = 0; a < p; a++) slope += g[a]! * step[a]!;
    // Half the Newton decrement is the predicted decrease of f; once it is below float64 resolution of
    // f, rounding in the gradient (float32 inputs, large n) is all that is left: stop if it is small.
    if (slope / 2 <= 1e-15 * Math.max(1, Math.abs(f)) && gradientMax <= STALL_GRADIENT) {
      return finish(theta, columns, standardisation, iteration, gradientMax);
    }
    let t = 1;
    for (;;) {
      for (let a = 0; a < p; a++) candidate[a] = theta[a]! - t * step[a]!;
      const fc = objective(candidate);
      if (fc <= f - 1e-4 * t * slope || t < 1e-10) {
        theta.set(candidate);
        f = fc;
        break;
      }
      t /= 2;
    }
  }
  throw new TrainerError("NOT_CONVERGED", `Newton did not reach gradient ${tolerance} in ${maxIterations} iterations (last ${gradientMax.toExponential(2)})`);
}

function finish(theta: Float64Array, columns: number, standardisation: Standardisation, iterations: number, gradient: number): LogisticRegressionModel {
  return { weights: Array.from(theta.subarray(0, columns)), intercept: theta[columns]!, standardisation, iterations, gradient };
}

/** Solves H·x = g for a symmetric positive definite H given by its lower triangle (row-major p×p). */
function solveCholesky(h: Float64Array, g: Float64Array, p: number): Float64Array {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = h[i * p + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * p + k]! * l[j * p + k]!;
      if (i === j) {
        // The penalty keeps H positive definite except along the intercept when all weights vanish; a tiny floor guards it.
        l[i * p + i] = Math.sqrt(Math.max(sum, 1e-300));
      } else {
        l[i * p + j] = sum / l[j * p + j]!;
      }
    }
  }
  const tmp = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let sum = g[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * p + k]! * tmp[k]!;
    tmp[i] = sum / l[i * p + i]!;
  }
  const out = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let sum = tmp[i]!;
    for (let k = i + 1; k < p; k++) sum -= l[k * p + i]! * out[k]!;
    out[i] = sum / l[i * p + i]!;
  }
  return out;
}
