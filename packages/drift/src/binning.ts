import { DriftError } from "./errors.js";
import { searchSorted, sortedCopy } from "./sorted.js";

/** How Evidently treats a column: numerical (ordered values) or categorical (labels). */
export type ColumnKind = "numerical" | "categorical";

/** A non-empty sample after missing values were dropped: numbers, or labels for categorical columns. */
export type Sample = ArrayLike<number> | readonly string[];

/** Bin shares of the reference and current samples over the same bins, in the same order. */
export interface BinnedShares {
  readonly reference: Float64Array;
  readonly current: Float64Array;
}

/** Evidently bins numerical columns by histogram only when the reference has more unique values than this. */
export const HISTOGRAM_MIN_UNIQUE = 20;

/** numpy.histogram_bin_edges(data, bins="sturges") for float data with the given min, max and size. */
export function sturgesEdges(min: number, max: number, size: number): Float64Array {
  let first = min;
  let last = max;
  let bins = 1;
  const width = (max - min) / (Math.log2(size) + 1);
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  if (width) bins = Math.ceil((last - first) / width);
  // numpy.linspace(first, last, bins + 1): i * step + first, with the last edge pinned to `last`.
  const edges = new Float64Array(bins + 1);
  const step = (last - first) / bins;
  for (let i = 0; i <= bins; i++) edges[i] = i * step + first;
  edges[bins] = last;
  return edges;
}

/** numpy.histogram(values, bins=edges)[0] for sorted values: [e_i, e_i+1) with the last bin closed. */
export function histogramSorted(sorted: ArrayLike<number>, edges: ArrayLike<number>): Float64Array {
  const bins = edges.length - 1;
  const counts = new Float64Array(bins);
  let prev = searchSorted(sorted, edges[0]!, "left");
  for (let i = 1; i <= bins; i++) {
    const next = searchSorted(sorted, edges[i]!, i === bins ? "right" : "left");
    counts[i - 1] = next - prev;
    prev = next;
  }
  return counts;
}

/** Same counts as histogramSorted, for unsorted values (one binary search per value). */
export function histogramUnsorted(values: ArrayLike<number>, edges: ArrayLike<number>): Float64Array {
  const bins = edges.length - 1;
  const counts = new Float64Array(bins);
  const first = edges[0]!;
  const last = edges[bins]!;
  for (let k = 0; k < values.length; k++) {
    const x = values[k]!;
    if (!(x >= first && x <= last)) continue;
    const i = x === last ? bins - 1 : searchSorted(edges, x, "right") - 1;
    counts[i] = counts[i]! + 1;
  }
  return counts;
}

/** Occurrences of each distinct value (pandas value_counts without NaN). */
export function valueCounts<K extends number | string>(values: ArrayLike<K>): Map<K, number> {
  const counts = new Map<K, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

/** Shares over the union of keys of two count maps (Evidently's value-count path of get_binned_data). */
export function sharesFromCounts<K>(
  reference: ReadonlyMap<K, number>,
  referenceSize: number,
  current: ReadonlyMap<K, number>,
  currentSize: number,
): BinnedShares {
  const keys = new Set<K>(reference.keys());
  for (const k of current.keys()) keys.add(k);
  const r = new Float64Array(keys.size);
  const c = new Float64Array(keys.size);
  let i = 0;
  for (const k of keys) {
    r[i] = (reference.get(k) ?? 0) / referenceSize;
    c[i] = (current.get(k) ?? 0) / currentSize;
    i++;
  }
  return { reference: r, current: c };
}

function countDistinctSorted(sorted: Float64Array): number {
  let distinct = sorted.length > 0 ? 1 : 0;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  return distinct;
}

/**
 * Evidently's get_binned_data without the zero fill: Sturges histogram over the pooled sample when the
 * column is numerical and the reference has more than 20 unique values, value counts otherwise.
 */
export function binnedShares(reference: Sample, current: Sample, kind: ColumnKind): BinnedShares {
  if (reference.length === 0 || current.length === 0) {
    throw new DriftError("EMPTY_SAMPLE", "binning needs two non-empty samples");
  }
  if (kind === "numerical") {
    const ref = sortedCopy(reference as ArrayLike<number>);
    if (countDistinctSorted(ref) > HISTOGRAM_MIN_UNIQUE) {
      const cur = sortedCopy(current as ArrayLike<number>);
      const edges = sturgesEdges(
        Math.min(ref[0]!, cur[0]!),
        Math.max(ref[ref.length - 1]!, cur[cur.length - 1]!),
        ref.length + cur.length,
      );
      const r = histogramSorted(ref, edges);
      const c = histogramSorted(cur, edges);
      for (let i = 0; i < r.length; i++) {
        r[i] = r[i]! / ref.length;
        c[i] = c[i]! / cur.length;
      }
      return { reference: r, current: c };
    }
  }
  const refCounts = valueCounts(reference as ArrayLike<number | string>);
  const curCounts = valueCounts(current as ArrayLike<number | string>);
  return sharesFromCounts(refCounts, reference.length, curCounts, current.length);
}

/**
 * Evidently's zero-share replacement for PSI and KL: zeros become min_nonzero / 1e6 when that minimum is
 * <= 0.0001, else 0.0001; the shares are not renormalised. Returns a new array.
 */
export function fillZeroShares(shares: Float64Array): Float64Array {
  let min = Infinity;
  for (const s of shares) if (s !== 0 && s < min) min = s;
  const fill = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  return shares.map((s) => (s === 0 ? fill : s));
}
