import { FeatureError, servedValues, type FeatureRegistry, type FeatureValue, type FeatureView, type ResolvedFeature, type ServedStatus } from "@loopline/features";
import { LooplineError } from "@loopline/kit";
import type { RedisFeatureStore } from "./redis-store.js";
import type { StoredUpdate } from "./stored-update.js";

/** A request that cannot be answered as asked; `field` names the request field at fault. */
export class QueryError extends LooplineError {
  override name = "QueryError";
  /** Request field at fault, e.g. "features". */
  readonly field: string;
  constructor(field: string, message: string) {
    super("INVALID_ARGUMENT", `${field}: ${message}`);
    this.field = field;
  }
}

/** A GetOnlineFeatures request in plain form. */
export interface OnlineQuery {
  /** Entity kind; optional, checked against every view when given. */
  entity?: string;
  entityIds: readonly string[];
  /** Refs "view:feature"; alternative to featureSet. */
  refs?: readonly string[];
  /** Named feature set; alternative to refs. */
  featureSet?: string;
  /** Epoch ms to read as of; undefined = now. */
  asOf?: number;
}

/** One requested feature's values across the entities, in entity order. */
export interface OnlineColumn {
  ref: string;
  values: FeatureValue[];
  statuses: ServedStatus[];
  /** As-of time of each value (0 when not found). */
  eventTimes: number[];
}

/** Columnar answer: columns[i].values[j] belongs to entityIds[j]. */
export interface OnlineResult {
  entityIds: readonly string[];
  columns: OnlineColumn[];
}

/** Resolves refs or a feature set and checks limits; throws QueryError naming the field at fault. */
export function planQuery(registry: FeatureRegistry, query: OnlineQuery, maxEntities: number): ResolvedFeature[] {
  if (query.entityIds.length === 0) throw new QueryError("entity_ids", "at least one entity id is required");
  if (query.entityIds.length > maxEntities) {
    throw new QueryError("entity_ids", `${query.entityIds.length} entity ids in one call; the limit is ${maxEntities} (LOOPLINE_FEATURE_STORE_MAX_ENTITIES)`);
  }
  const empty = query.entityIds.findIndex((id) => id === "");
  if (empty >= 0) throw new QueryError(`entity_ids[${empty}]`, "empty entity id");
  const hasRefs = (query.refs?.length ?? 0) > 0;
  const hasSet = (query.featureSet ?? "") !== "";
  if (hasRefs === hasSet) throw new QueryError("features", "give either feature refs (view:feature) or feature_set, not both or neither");
  let resolved: ResolvedFeature[];
  if (hasSet) {
    try {
      resolved = [...registry.getFeatureSet(query.featureSet as string).features];
    } catch (err) {
      if (err instanceof FeatureError) throw new QueryError("feature_set", `unknown feature set ${JSON.stringify(query.featureSet)}`);
      throw err;
    }
  } else {
    resolved = [];
    const unknown: string[] = [];
    for (const ref of query.refs ?? []) {
      try {
        resolved.push(registry.resolve(ref));
      } catch (err) {
        if (!(err instanceof FeatureError)) throw err;
        unknown.push(`${ref} (${err.message})`);
      }
    }
    if (unknown.length > 0) throw new QueryError("features", `unknown feature refs: ${unknown.join("; ")}`);
  }
  if (query.entity !== undefined && query.entity !== "") {
    const other = resolved.find((r) => r.view.entity !== query.entity);
    if (other !== undefined) throw new QueryError("features", `view ${other.view.name} is keyed by ${other.view.entity}, not ${query.entity}`);
  }
  return resolved;
}

/** Reads and assembles the columnar answer (statuses by each feature's max age at the read time). */
export async function runQuery(store: RedisFeatureStore, features: readonly ResolvedFeature[], query: OnlineQuery, now: number): Promise<OnlineResult> {
  const views = new Map<string, FeatureView>();
  for (const f of features) views.set(f.view.name, f.view);
  const viewList = [...views.values()];
  const pairs = viewList.flatMap((view) => query.entityIds.map((entityId) => ({ view: view.name, entityId })));
  const at = query.asOf ?? now;
  const stored = query.asOf === undefined ? await store.readLatest(pairs) : await store.readAsOf(pairs, query.asOf);
  // served[viewIndex][entityIndex]
  const served = viewList.map((view, vi) =>
    query.entityIds.map((_, ei) => {
      const s: StoredUpdate | undefined = stored[vi * query.entityIds.length + ei];
      return { s, v: servedValues(view, s, at) };
    }),
  );
  const columns = features.map((f): OnlineColumn => {
    const vi = viewList.indexOf(f.view);
    const perEntity = served[vi] ?? [];
    return {
      ref: `${f.view.name}:${f.feature.name}`,
      values: perEntity.map(({ v }) => v.values[f.feature.name] ?? null),
      statuses: perEntity.map(({ v }) => v.statuses[f.feature.name] ?? "NOT_FOUND"),
      eventTimes: perEntity.map(({ s, v }) => (s === undefined || v.statuses[f.feature.name] === "NOT_FOUND" ? 0 : s.asOf)),
    };
  });
  return { entityIds: query.entityIds, columns };
}
