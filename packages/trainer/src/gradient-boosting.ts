import { TrainerError } from "./errors.js";

/** Options of fitGradientBoosting (scikit-learn GradientBoostingClassifier's names and defaults). */
export interface GradientBoostingOptions {
  /** Boosting stages (trees). Default 100. */
  trees?: number;
  /** Depth limit of each tree. Default 3. */
  maxDepth?: number;
  /** Shrinkage applied to every tree's contribution. Default 0.1. */
  learningRate?: number;
  /** Fewest samples a leaf may hold. Default 1. */
  minSamplesLeaf?: number;
  /** Fewest samples a node needs to be split. Default 2. */
  minSamplesSplit?: number;
}

/** One regression tree, as parallel arrays indexed by node id (root 0, depth-first order). */
export interface RegressionTree {
  /** Split feature, −1 for a leaf. */
  readonly feature: Int32Array;
  /** Go left when x[feature] ≤ threshold; a float32 value so float32 inputs route exactly as in ONNX. */
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Leaf value (the Newton step of the leaf, before shrinkage); internal nodes: mean residual. */
  readonly value: Float64Array;
}

/** A fitted binary gradient-boosting classifier: raw score = init + learningRate·Σ tree(x), P(1) = σ(raw). */
export interface GradientBoostingModel {
  /** Log-odds of the class prior. */
  readonly init: number;
  readonly learningRate: number;
  readonly trees: readonly RegressionTree[];
  readonly columns: number;
}

/** Values closer than this are one value when looking for split points (scikit-learn's FEATURE_THRESHOLD). */
const FEATURE_THRESHOLD = 1e-7;
const EPSILON = Number.EPSILON;
const expit = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Fits gradient-boosted trees for log loss the way scikit-learn's GradientBoostingClassifier does
 * (subsample 1): init = log-odds of the prior; each stage fits a depth-limited regression tree to the
 * residuals y − σ(raw) with the Friedman-MSE criterion (best split over every feature and every
 * midpoint between distinct float32 values), then replaces each leaf by one Newton step,
 * Σ(y − p) / Σ p(1 − p), and adds learningRate × leaf to the raw scores. Inputs are rounded to float32
 * first, as scikit-learn does. Features are scanned in column order; scikit-learn shuffles them, which
 * only matters for exactly tied splits.
 */
export function fitGradientBoosting(x: Float64Array, rows: number, columns: number, y: ArrayLike<number>, options: GradientBoostingOptions = {}): GradientBoostingModel {
  const trees = options.trees ?? 100;
  const maxDepth = options.maxDepth ?? 3;
  const learningRate = options.learningRate ?? 0.1;
  const minLeaf = options.minSamplesLeaf ?? 1;
  const minSplit = options.minSamplesSplit ?? 2;
  if (!(Number.isInteger(trees) && trees >= 1)) throw new TrainerError("INVALID_ARGUMENT", `trees: ${trees} must be a positive integer`);
  if (!(Number.isInteger(maxDepth) && maxDepth >= 1)) throw new TrainerError("INVALID_ARGUMENT", `maxDepth: ${maxDepth} must be a positive integer`);
  if (!(learningRate > 0)) throw new TrainerError("INVALID_ARGUMENT", `learningRate: ${learningRate} must be positive`);
  if (rows === 0) throw new TrainerError("EMPTY_TRAINING_SET", "no training rows");
  if (x.length !== rows * columns || y.length !== rows) throw new TrainerError("INVALID_ARGUMENT", `x has ${x.length} values and y ${y.length} labels for ${rows}×${columns}`);
  let positives = 0;
  for (let i = 0; i < rows; i++) {
    if (y[i] !== 0 && y[i] !== 1) throw new TrainerError("INVALID_ARGUMENT", `y[${i}]: ${y[i]} is not 0 or 1`);
    positives += y[i]!;
  }
  if (positives === 0 || positives === rows) throw new TrainerError("ONE_CLASS", `all ${rows} labels are ${positives === 0 ? 0 : 1}; a classifier needs both classes`);
  // Column-major float32 copy: split search reads one feature at a time.
  const xf = new Float64Array(rows * columns);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) {
      const v = x[i * columns + j]!;
      if (!Number.isFinite(v)) throw new TrainerError("INVALID_ARGUMENT", `x[row ${i}, column ${j}] is not finite`);
      xf[j * rows + i] = Math.fround(v);
    }
  }
  const prior = positives / rows;
  const init = Math.log(prior / (1 - prior));
  const raw = new Float64Array(rows).fill(init);
  const residual = new Float64Array(rows);
  const fitted: RegressionTree[] = [];
  const sorted = presort(xf, rows, columns);
  for (let t = 0; t < trees; t++) {
    for (let i = 0; i < rows; i++) residual[i] = y[i]! - expit(raw[i]!);
    const { tree, leafOf } = buildTree(xf, rows, columns, residual, maxDepth, minLeaf, minSplit, sorted);
    // Leaf values become one Newton step of the log loss over the leaf's samples.
    const numerator = new Float64Array(tree.feature.length);
    const denominator = new Float64Array(tree.feature.length);
    for (let i = 0; i < rows; i++) {
      const leaf = leafOf[i]!;
      const p = y[i]! - residual[i]!;
      numerator[leaf]! += residual[i]!;
      denominator[leaf]! += p * (1 - p);
    }
    for (let node = 0; node < tree.feature.length; node++) {
      if (tree.feature[node] !== -1) continue;
      tree.value[node] = Math.abs(denominator[node]!) < 1e-150 ? 0 : numerator[node]! / denominator[node]!;
    }
    for (let i = 0; i < rows; i++) raw[i]! += learningRate * tree.value[leafOf[i]!]!;
    fitted.push(tree);
  }
  return { init, learningRate, trees: fitted, columns };
}

/** Row indices sorted by each feature's value, computed once per fit (every tree splits the same rows). */
function presort(xf: Float64Array, rows: number, columns: number): Int32Array[] {
  return Array.from({ length: columns }, (_, f) => {
    const base = f * rows;
    return Int32Array.from({ length: rows }, (_, i) => i).sort((a, b) => xf[base + a]! - xf[base + b]!);
  });
}

function buildTree(
  xf: Float64Array,
  rows: number,
  columns: number,
  target: Float64Array,
  maxDepth: number,
  minLeaf: number,
  minSplit: number,
  sortedRoot: readonly Int32Array[],
): { tree: RegressionTree; leafOf: Int32Array } {
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const leafOf = new Int32Array(rows);
  const goesLeft = new Uint8Array(rows);

  // `sorted[f]` holds the node's rows in order of feature f; children get stable partitions of it, so
  // no node ever sorts (O(n·d) per node instead of O(n·log n·d)).
  const grow = (sorted: readonly Int32Array[], depth: number): number => {
    const id = feature.length;
    feature.push(-1);
    threshold.push(-2);
    left.push(-1);
    right.push(-1);
    const samples = sorted[0]!;
    const n = samples.length;
    let sum = 0;
    let sq = 0;
    for (const s of samples) {
      sum += target[s]!;
      sq += target[s]! * target[s]!;
    }
    const mean = sum / n;
    value.push(mean);
    const impurity = sq / n - mean * mean;
    let best: { feature: number; threshold: number; proxy: number } | undefined;
    if (!(depth >= maxDepth || n < minSplit || n < 2 * minLeaf || impurity <= EPSILON)) {
      for (let f = 0; f < columns; f++) {
        const base = f * rows;
        const order = sorted[f]!;
        if (xf[base + order[n - 1]!]! <= xf[base + order[0]!]! + FEATURE_THRESHOLD) continue; // constant here
        let sumLeft = 0;
        let p = 0;
        while (p < n) {
          // Advance to the next position whose value differs from its predecessor's.
          while (p + 1 < n && xf[base + order[p + 1]!]! <= xf[base + order[p]!]! + FEATURE_THRESHOLD) {
            sumLeft += target[order[p]!]!;
            p++;
          }
          sumLeft += target[order[p]!]!;
          p++;
          if (p >= n) break;
          const nLeft = p;
          const nRight = n - p;
          if (nLeft < minLeaf || nRight < minLeaf) continue;
          const diff = nRight * sumLeft - nLeft * (sum - sumLeft);
          const proxy = (diff * diff) / (nLeft * nRight);
          if (best === undefined || proxy > best.proxy) {
            const below = xf[base + order[p - 1]!]!;
            const above = xf[base + order[p]!]!;
            let mid = below / 2 + above / 2;
            if (mid === above || !Number.isFinite(mid)) mid = below;
            // ONNX stores thresholds as float32: take the float32 that sends the same training values left.
            let t32 = Math.fround(mid);
            if (t32 >= above) t32 = below;
            best = { feature: f, threshold: t32, proxy };
          }
        }
      }
    }
    if (best === undefined) {
      for (const s of samples) leafOf[s] = id;
      return id;
    }
    const base = best.feature * rows;
    let nLeft = 0;
    for (const s of samples) {
      const l = xf[base + s]! <= best.threshold ? 1 : 0;
      goesLeft[s] = l;
      nLeft += l;
    }
    const lefts: Int32Array[] = [];
    const rights: Int32Array[] = [];
    for (const order of sorted) {
      const l = new Int32Array(nLeft);
      const r = new Int32Array(n - nLeft);
      let a = 0;
      let b = 0;
      for (const s of order) {
        if (goesLeft[s] === 1) l[a++] = s;
        else r[b++] = s;
      }
      lefts.push(l);
      rights.push(r);
    }
    feature[id] = best.feature;
    threshold[id] = best.threshold;
    left[id] = grow(lefts, depth + 1);
    right[id] = grow(rights, depth + 1);
    return id;
  };

  grow(sortedRoot, 0);
  return {
    tree: { feature: Int32Array.from(feature), threshold: Float64Array.from(threshold), left: Int32Array.from(left), right: Int32Array.from(right), value: Float64Array.from(value) },
    leafOf,
  };
}

/** P(class 1) for each row of a row-major matrix (inputs rounded to float32, as in training and ONNX). */
export function predictGradientBoosting(model: GradientBoostingModel, x: Float64Array, rows: number): Float64Array {
  const out = new Float64Array(rows);
  const columns = model.columns;
  for (let i = 0; i < rows; i++) {
    let raw = model.init;
    for (const tree of model.trees) {
      let node = 0;
      while (tree.feature[node]! >= 0) node = Math.fround(x[i * columns + tree.feature[node]!]!) <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
      raw += model.learningRate * tree.value[node]!;
    }
    out[i] = expit(raw);
  }
  return out;
}
