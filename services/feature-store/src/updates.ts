import type { FeatureRegistry, FeatureValue, FeatureView } from "@loopline/features";
import { fromFeatureValue } from "@loopline/proto";
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

/** Checks a FeatureUpdate against the registry and turns it into a write; a problem names the field. */
export function toPendingWrite(
  registry: FeatureRegistry,
  u: FeatureUpdate,
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
  const asOf = Number(u.eventTimeMs);
  if (!Number.isSafeInteger(asOf) || asOf <= 0) {
    return { ok: false, problem: { code: "BAD_EVENT_TIME", detail: `event_time_ms: ${u.eventTimeMs} is not a positive epoch-ms time` } };
  }
  const values: Record<string, FeatureValue> = {};
  for (const [name, v] of Object.entries(u.values)) {
    if (view.feature(name) === undefined) {
      return { ok: false, problem: { code: "UNKNOWN_FEATURE", detail: `values: view ${view.name} has no feature ${JSON.stringify(name)}` } };
    }
    values[name] = fromFeatureValue(v);
  }
  const producedAt = Number(u.producedAtMs) || now;
  return {
    ok: true,
    write: {
      view: view.name,
      entityId: u.entityId,
      update: { asOf, revision: Number(u.revision), producedAt, values },
      expireAt: asOf + longestMaxAge(view) + expiryGraceMs,
    },
  };
}
