import { FeatureError } from "./errors.js";
import { formatFeatureRef, parseFeatureRef, type FeatureRef } from "./feature-ref.js";
import { assertName, type Feature, type FeatureView, type FieldType } from "./feature-view.js";

/** A named, ordered list of feature refs: the inputs of a model. */
export interface FeatureSetDefinition {
  /** Name, unique in a registry. */
  readonly name: string;
  /** Refs `view:feature`, in model-input order. */
  readonly features: readonly string[];
  /** Free text. */
  readonly description?: string;
}

/** A feature set whose refs have all been resolved. */
export interface FeatureSet {
  /** Set name. */
  readonly name: string;
  /** Entity type every referenced view is keyed by (one key fetches the whole set). */
  readonly entity: string;
  /** Refs in order, as `view:feature` strings. */
  readonly refs: readonly string[];
  /** Resolved refs in the same order. */
  readonly features: readonly ResolvedFeature[];
  /** Free text. */
  readonly description: string;
}

/** A ref together with the view and feature it names. */
export interface ResolvedFeature {
  /** The parsed ref. */
  readonly ref: FeatureRef;
  /** The view it belongs to. */
  readonly view: FeatureView;
  /** The feature. */
  readonly feature: Feature;
}

/** Source field schema merged over every view that consumes one (entity, type). */
export interface MergedField {
  /** Field name. */
  readonly name: string;
  /** Type all views agree on. */
  readonly type: FieldType;
  /** True only when every consuming view declares it optional. */
  readonly optional: boolean;
}

/** Views and feature sets, looked up by name. Services and training/replay load definitions from one of these. */
export interface FeatureRegistry {
  /** All views, in registration order. */
  readonly views: readonly FeatureView[];
  /** All feature sets, in registration order. */
  readonly featureSets: readonly FeatureSet[];
  /** The view called `name`; throws FeatureError(UNKNOWN_VIEW). */
  getView(name: string): FeatureView;
  /** The feature set called `name`; throws FeatureError(UNKNOWN_FEATURE_SET). */
  getFeatureSet(name: string): FeatureSet;
  /** Parses and resolves `view:feature`; throws INVALID_FEATURE_REF, UNKNOWN_VIEW or UNKNOWN_FEATURE. */
  resolve(ref: string): ResolvedFeature;
}

/** Options for `createFeatureRegistry`. */
export interface FeatureRegistryOptions {
  /** Compiled views (see `defineFeatureView`). Default: none. */
  readonly views?: readonly FeatureView[];
  /** Feature sets over those views. Default: none. */
  readonly featureSets?: readonly FeatureSetDefinition[];
}

/**
 * Merges the source schemas of `views` per entity and event type. Throws FeatureError(INVALID_DEFINITION)
 * when two views declare the same field of the same (entity, type) with different types.
 */
export function mergeSourceSchemas(views: readonly FeatureView[]): Map<string, Map<string, Map<string, MergedField>>> {
  const byEntity = new Map<string, Map<string, Map<string, MergedField>>>();
  for (const view of views) {
    let byType = byEntity.get(view.entity);
    if (byType === undefined) byEntity.set(view.entity, (byType = new Map()));
    for (const [type, fields] of view.sources) {
      let merged = byType.get(type);
      if (merged === undefined) byType.set(type, (merged = new Map()));
      for (const field of fields) {
        const seen = merged.get(field.name);
        if (seen !== undefined && seen.type !== field.type) {
          throw new FeatureError(
            "INVALID_DEFINITION",
            `view ${view.name}: field ${field.name} of ${view.entity}/${type} is ${field.type} but another view declares it ${seen.type}`,
          );
        }
        merged.set(field.name, { name: field.name, type: field.type, optional: (seen?.optional ?? true) && field.optional });
      }
    }
  }
  return byEntity;
}

/** Builds a registry; throws FeatureError on duplicate names, conflicting schemas or unresolvable feature sets. */
export function createFeatureRegistry(options: FeatureRegistryOptions): FeatureRegistry {
  const views = [...(options.views ?? [])];
  const viewsByName = new Map<string, FeatureView>();
  for (const view of views) {
    if (viewsByName.has(view.name)) throw new FeatureError("INVALID_DEFINITION", `duplicate view ${view.name}`);
    viewsByName.set(view.name, view);
  }
  mergeSourceSchemas(views);

  const getView = (name: string): FeatureView => {
    const view = viewsByName.get(name);
    if (view === undefined) throw new FeatureError("UNKNOWN_VIEW", `no feature view named ${JSON.stringify(name)}`);
    return view;
  };
  const resolve = (text: string): ResolvedFeature => {
    const ref = parseFeatureRef(text);
    const view = getView(ref.view);
    const feature = view.feature(ref.feature);
    if (feature === undefined) throw new FeatureError("UNKNOWN_FEATURE", `view ${ref.view} has no feature ${JSON.stringify(ref.feature)}`);
    return { ref, view, feature };
  };

  const sets = new Map<string, FeatureSet>();
  for (const def of options.featureSets ?? []) {
    assertName(def.name, "feature set name");
    if (sets.has(def.name)) throw new FeatureError("INVALID_DEFINITION", `duplicate feature set ${def.name}`);
    if (def.features.length === 0) throw new FeatureError("INVALID_DEFINITION", `feature set ${def.name} is empty`);
    const features = def.features.map(resolve);
    const refs = features.map((f) => formatFeatureRef(f.ref));
    const duplicate = refs.find((ref, i) => refs.indexOf(ref) !== i);
    if (duplicate !== undefined) throw new FeatureError("INVALID_DEFINITION", `feature set ${def.name} lists ${duplicate} twice`);
    const entities = new Set(features.map((f) => f.view.entity));
    if (entities.size !== 1) {
      throw new FeatureError("INVALID_DEFINITION", `feature set ${def.name} mixes entities ${[...entities].join(", ")}; a set is fetched by one key`);
    }
    sets.set(def.name, Object.freeze({ name: def.name, entity: [...entities][0] ?? "", refs, features, description: def.description ?? "" }));
  }

  return Object.freeze({
    views,
    featureSets: [...sets.values()],
    getView,
    getFeatureSet: (name: string): FeatureSet => {
      const set = sets.get(name);
      if (set === undefined) throw new FeatureError("UNKNOWN_FEATURE_SET", `no feature set named ${JSON.stringify(name)}`);
      return set;
    },
    resolve,
  });
}
