import { histogramSorted, sturgesEdges, valueCounts, type ColumnKind, type Sample } from "./binning.js";
import { DriftError } from "./errors.js";
import { sortedCopy } from "./sorted.js";

function fromAffinity(affinity: number): number {
  const clipped = Math.min(Math.max(affinity, 0), 1);
  return Math.sqrt(1 - clipped);
}

/** Hellinger distance from category counts: sqrt(1 - sum sqrt(p_ref p_cur)). */
export function hellingerFromCounts<K>(
  reference: ReadonlyMap<K, number>,
  referenceSize: number,
  current: ReadonlyMap<K, number>,
  currentSize: number,
): number {
  let affinity = 0;
  for (const [k, rc] of reference) {
    const cc = current.get(k);
    if (cc !== undefined) affinity += Math.sqrt((rc / referenceSize) * (cc / currentSize));
  }
  return fromAffinity(affinity);
}

/**
 * Hellinger distance from sorted numerical samples. Evidently bins on the *unique* values of both
 * samples (Sturges over the distinct values) and integrates the two density histograms.
 */
export function hellingerSorted(reference: Float64Array, current: Float64Array): number {
  let unique = 0;
  let i = 0;
  let j = 0;
  while (i < reference.length || j < current.length) {
    const x = i < reference.length && (j >= current.length || reference[i]! <= current[j]!) ? reference[i]! : current[j]!;
    while (i < reference.length && reference[i] === x) i++;
    while (j < current.length && current[j] === x) j++;
    unique++;
  }
  const min = Math.min(reference[0]!, current[0]!);
  const max = Math.max(reference[reference.length - 1]!, current[current.length - 1]!);
  const edges = sturgesEdges(min, max, unique);
  const bins = edges.length - 1;
  const r = histogramSorted(reference, edges);
  const c = histogramSorted(current, edges);
  // numpy density: count / bin width / total count; Evidently multiplies back by the nominal width.
  const width = (edges[bins]! - edges[0]!) / bins;
  let affinity = 0;
  for (let b = 0; b < bins; b++) {
    const db = edges[b + 1]! - edges[b]!;
    const p1 = r[b]! / db / reference.length;
    const p2 = c[b]! / db / current.length;
    affinity += Math.sqrt(p1 * p2) * width;
  }
  return fromAffinity(affinity);
}

/** Evidently's Hellinger distance of two samples (value counts for categorical, density histogram for numerical). */
export function hellinger(reference: Sample, current: Sample, kind: ColumnKind): number {
  if (reference.length === 0 || current.length === 0) {
    throw new DriftError("EMPTY_SAMPLE", "hellinger needs two non-empty samples");
  }
  if (kind === "categorical") {
    const r = valueCounts(reference as ArrayLike<number | string>);
    const c = valueCounts(current as ArrayLike<number | string>);
    return hellingerFromCounts(r, reference.length, c, current.length);
  }
  return hellingerSorted(sortedCopy(reference as ArrayLike<number>), sortedCopy(current as ArrayLike<number>));
}
