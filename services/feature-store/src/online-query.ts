import { FeatureError, servedStatus, servedValue, type FeatureRegistry, type FeatureValue, type FeatureView, type ResolvedFeature, type ServedStatus } from "@loopline/features";
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
  return planQueryWith(registry, query, maxEntities, resolveFeatures);
}

/** Options of createQueryPlanner. */
export interface QueryPlannerOptions {
  /** Resolutions remembered (distinct ref lists and feature sets). Default 1024; the memo restarts empty when full. */
  maxCached?: number;
}

/**
 * planQuery with the ref resolution of each distinct ref list (or feature set) done once: callers
 * such as a model server ask for the same features on every call, and parsing and resolving ten refs
 * costs more than the rest of planning. The registry must not change while the planner is in use.
 */
// Hot path: guarded by bench/features.bench.ts (GetOnlineFeatures p99).
export function createQueryPlanner(registry: FeatureRegistry, options: QueryPlannerOptions = {}): (query: OnlineQuery, maxEntities: number) => readonly ResolvedFeature[] {
  const maxCached = options.maxCached ?? 1024;
  const memo = new Map<string, readonly ResolvedFeature[]>();
  const resolve = (reg: FeatureRegistry, query: OnlineQuery): readonly ResolvedFeature[] => {
    // JSON keeps two different lists apart whatever characters a (possibly invalid) ref contains.
    const key = (query.featureSet ?? "") !== "" ? `set:${query.featureSet}` : JSON.stringify(query.refs ?? []);
    let resolved = memo.get(key);
    if (resolved === undefined) {
      resolved = resolveFeatures(reg, query); // throws on unknown refs: failures are not remembered
      if (memo.size >= maxCached) memo.clear();
      memo.set(key, resolved);
    }
    return resolved;
  };
  return (query, maxEntities) => planQueryWith(registry, query, maxEntities, resolve);
}

function planQueryWith(
  registry: FeatureRegistry,
  query: OnlineQuery,
  maxEntities: number,
  resolve: (registry: FeatureRegistry, query: OnlineQuery) => readonly ResolvedFeature[],
): ResolvedFeature[] {
  if (query.entityIds.length === 0) throw new QueryError("entity_ids", "at least one entity id is required");
  if (query.entityIds.length > maxEntities) {
    throw new QueryError("entity_ids", `${query.entityIds.length} entity ids in one call; the limit is ${maxEntities} (LOOPLINE_FEATURE_STORE_MAX_ENTITIES)`);
  }
  const empty = query.entityIds.findIndex((id) => id === "");
  if (empty >= 0) throw new QueryError(`entity_ids[${empty}]`, "empty entity id");
  const hasRefs = (query.refs?.length ?? 0) > 0;
  const hasSet = (query.featureSet ?? "") !== "";
  if (hasRefs === hasSet) throw new QueryError("features", "give either feature refs (view:feature) or feature_set, not both or neither");
  const resolved = [...resolve(registry, query)];
  if (query.entity !== undefined && query.entity !== "") {
    const other = resolved.find((r) => r.view.entity !== query.entity);
    if (other !== undefined) throw new QueryError("features", `view ${other.view.name} is keyed by ${other.view.entity}, not ${query.entity}`);
  }
  return resolved;
}

/** The features a valid query names (exactly one of refs and featureSet is given); throws QueryError. */
function resolveFeatures(registry: FeatureRegistry, query: OnlineQuery): readonly ResolvedFeature[] {
  const hasSet = (query.featureSet ?? "") !== "";
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
  return resolved;
}

/** Reads and assembles the columnar answer (statuses by each feature's max age at the read time). */
// Hot path: guarded by bench/features.bench.ts (GetOnlineFeatures p99). Only the requested features
// are served (not every feature of their views), straight into the columns.
export async function runQuery(store: RedisFeatureStore, features: readonly ResolvedFeature[], query: OnlineQuery, now: number): Promise<OnlineResult> {
  const viewIndex = new Map<FeatureView, number>();
  const viewList: FeatureView[] = [];
  for (const f of features) {
    if (!viewIndex.has(f.view)) {
      viewIndex.set(f.view, viewList.length);
      viewList.push(f.view);
    }
  }
  const entityIds = query.entityIds;
  const n = entityIds.length;
  const pairs: { view: string; entityId: string }[] = [];
  for (const view of viewList) for (const entityId of entityIds) pairs.push({ view: view.name, entityId });
  const at = query.asOf ?? now;
  const stored = query.asOf === undefined ? await store.readLatest(pairs) : await store.readAsOf(pairs, query.asOf);
  const columns = features.map((f): OnlineColumn => {
    const base = (viewIndex.get(f.view) as number) * n; // stored[base + entityIndex]
    const values: FeatureValue[] = new Array<FeatureValue>(n);
    const statuses: ServedStatus[] = new Array<ServedStatus>(n);
    const eventTimes: number[] = new Array<number>(n);
    for (let ei = 0; ei < n; ei++) {
      const s: StoredUpdate | undefined = stored[base + ei];
      const status = servedStatus(f.feature, s, at);
      values[ei] = servedValue(f.feature, s, status);
      statuses[ei] = status;
      eventTimes[ei] = s === undefined || status === "NOT_FOUND" ? 0 : s.asOf;
    }
    return { ref: `${f.view.name}:${f.feature.name}`, values, statuses, eventTimes };
  });
  return { entityIds, columns };
}
