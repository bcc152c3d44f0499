import type { FeatureRegistry, FeatureValue, FeatureView } from "@loopline/features";
import { fromFeatureValue, type PlainFeatureUpdate } from "@loopline/proto";
import type { FeatureUpdate } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import type { PendingWrite } from "./redis-store.js";

/** Why an update cannot be stored: a stable code and a detail naming the field. */
export interface UpdateProblem {
  code: "UNKNOWN_VIEW" | "ENTITY_MISMATCH" | "UNKNOWN_FEATURE" | "MISSING_ENTITY_ID" | "BAD_EVENT_TIME";
  detail: string;
}

/** The longest max age among a view's features: how long a stored value can still be served. */
export function longestMaxAge(view: FeatureView): number {
  return view.features.reduce((m, f) => Math.max(m, f.maxAgeMs), 0);
}

/** A FeatureUpdate message (WriteFeatures) in the plain form the stream path decodes to. */
export function plainUpdate(u: FeatureUpdate): PlainFeatureUpdate {
  const values: Record<string, FeatureValue> = {};
  for (const [name, v] of Object.entries(u.values)) values[name] = fromFeatureValue(v);
  return {
    entity: u.entity,
    entityId: u.entityId,
    view: u.view,
    asOf: Number(u.eventTimeMs),
    revision: Number(u.revision),
    values,
    producedAt: Number(u.producedAtMs),
    sourceEventId: u.sourceEventId,
  };
}

/** Checks an update against the registry and turns it into a write; a problem names the field. */
// Hot path: guarded by bench/features.bench.ts (ingest events/s).
export function toPendingWrite(
  registry: FeatureRegistry,
  u: PlainFeatureUpdate,
  expiryGraceMs: number,
  now: number,
): { ok: true; write: PendingWrite } | { ok: false; problem: UpdateProblem } {
  let view: FeatureView;
  try {
    view = registry.getView(u.view);
  } catch {
    return { ok: false, problem: { code: "UNKNOWN_VIEW", detail: `view: no feature view named ${JSON.stringify(u.view)}` } };
  }
  if (u.entity !== "" && u.entity !== view.entity) {
    return { ok: false, problem: { code: "ENTITY_MISMATCH", detail: `entity: view ${view.name} is keyed by ${view.entity}, not ${u.entity}` } };
  }
  if (u.entityId === "") return { ok: false, problem: { code: "MISSING_ENTITY_ID", detail: "entity_id: empty" } };
  const asOf = u.asOf;
  if (!Number.isSafeInteger(asOf) || asOf <= 0) {
    return { ok: false, problem: { code: "BAD_EVENT_TIME", detail: `event_time_ms: ${asOf} is not a positive epoch-ms time` } };
  }
  for (const name in u.values) {
    if (view.feature(name) === undefined) {
      return { ok: false, problem: { code: "UNKNOWN_FEATURE", detail: `values: view ${view.name} has no feature ${JSON.stringify(name)}` } };
    }
  }
  const producedAt = u.producedAt || now;
  return {
    ok: true,
    write: {
      view: view.name,
      entityId: u.entityId,
      update: { asOf, revision: u.revision, producedAt, values: u.values },
      expireAt: asOf + longestMaxAge(view) + expiryGraceMs,
    },
  };
}
