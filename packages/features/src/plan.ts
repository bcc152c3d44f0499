import type { FieldValue } from "./event.js";
import type { Feature, FeatureView } from "./feature-view.js";

// The engine's compiled form of a view (internal). Features that read the same events over the same
// window share one "series" of accumulators, so count/sum/mean/stddev of amount over 1h cost one update.

/** One shared accumulator set: the events of `typeMask` passing `where`, with `field` present, in window `group`. */
export interface SeriesPlan {
  /** Index into `Plan.windowsMs`. */
  readonly group: number;
  /** Index into `Plan.storedFields`, or -1 when the series counts events. */
  readonly field: number;
  /** Accepted type indices (by `Plan.types`), or null for all. */
  readonly typeMask: readonly boolean[] | null;
  /** Equality filter on stored fields. */
  readonly where: readonly (readonly [number, FieldValue])[];
  /** Keep an exact sum (sum, mean, stddev). */
  readonly sum: boolean;
  /** Keep an exact sum of squares (stddev). */
  readonly sumSq: boolean;
  /** Track the minimum. */
  readonly min: boolean;
  /** Track the maximum. */
  readonly max: boolean;
  /** Keep value multiplicities (distinct_count). */
  readonly distinct: boolean;
}

/** A feature bound to its series. */
export interface FeaturePlan {
  /** The compiled feature. */
  readonly feature: Feature;
  /** Index into `Plan.series`. */
  readonly series: number;
}

/** The compiled engine layout of a view. */
export interface Plan {
  /** Source types, index = type index stored in entries. */
  readonly types: readonly string[];
  /** Type name to index. */
  readonly typeIndex: ReadonlyMap<string, number>;
  /** Fields stored per entry (every field a feature reads or filters on), sorted. */
  readonly storedFields: readonly string[];
  /** Distinct window lengths, ascending. */
  readonly windowsMs: readonly number[];
  /** Series. */
  readonly series: readonly SeriesPlan[];
  /** Series indices per window group. */
  readonly seriesByGroup: readonly (readonly number[])[];
  /** Features in view order. */
  readonly features: readonly FeaturePlan[];
}

/** Compiles a view into the engine layout. Deterministic: equal fingerprints give equal plans. */
export function compilePlan(view: FeatureView): Plan {
  const types = view.sourceTypes;
  const typeIndex = new Map(types.map((t, i) => [t, i]));
  const stored = new Set<string>();
  for (const f of view.features) {
    if (f.field !== null) stored.add(f.field);
    for (const [name] of f.where) stored.add(name);
  }
  const storedFields = [...stored].sort();
  const fieldIndex = new Map(storedFields.map((f, i) => [f, i]));
  const windowsMs = [...new Set(view.features.map((f) => f.windowMs))].sort((a, b) => a - b);

  const keys = new Map<string, number>();
  const drafts: Array<{ -readonly [K in keyof SeriesPlan]: SeriesPlan[K] }> = [];
  const features = view.features.map((feature): FeaturePlan => {
    const key = JSON.stringify([feature.windowMs, feature.field, feature.types, feature.where]);
    let index = keys.get(key);
    if (index === undefined) {
      index = drafts.length;
      keys.set(key, index);
      const all = feature.types.length === types.length;
      drafts.push({
        group: windowsMs.indexOf(feature.windowMs),
        field: feature.field === null ? -1 : (fieldIndex.get(feature.field) ?? -1),
        typeMask: all ? null : types.map((t) => feature.types.includes(t)),
        where: feature.where.map(([name, value]) => [fieldIndex.get(name) ?? -1, value] as const),
        sum: false,
        sumSq: false,
        min: false,
        max: false,
        distinct: false,
      });
    }
    const draft = drafts[index];
    if (draft !== undefined) {
      const a = feature.aggregation;
      if (a === "sum" || a === "mean" || a === "stddev" || a === "stddev_sample") draft.sum = true;
      if (a === "stddev" || a === "stddev_sample") draft.sumSq = true;
      if (a === "min") draft.min = true;
      if (a === "max") draft.max = true;
      if (a === "distinct_count") draft.distinct = true;
    }
    return { feature, series: index };
  });
  const seriesByGroup = windowsMs.map((_, g) => drafts.flatMap((s, i) => (s.group === g ? [i] : [])));
  return { types, typeIndex, storedFields, windowsMs, series: drafts, seriesByGroup, features };
}
