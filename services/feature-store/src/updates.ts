import type { FeatureRegistry, FeatureValue, FeatureView } from "@loopline/features";
import { encodeFeatureUpdate, fromFeatureValue, scanFeatureUpdate, UnknownValueKeyError, type PlainFeatureUpdate, type ValueKeyCheck } from "@loopline/proto";
import type { FeatureUpdate } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import type { PendingWrite } from "./redis-store.js";
import { storedValue } from "./stored-update.js";

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

type Checked = { ok: true; write: PendingWrite } | { ok: false; problem: UpdateProblem };

const isProblem = (x: FeatureView | UpdateProblem): x is UpdateProblem => "code" in x && "detail" in x;

/** The header checks shared by both paths; the view on success. */
function checkHeader(registry: FeatureRegistry, u: { view: string; entity: string; entityId: string; asOf: number }): FeatureView | UpdateProblem {
  let view: FeatureView;
  try {
    view = registry.getView(u.view);
  } catch {
    return { code: "UNKNOWN_VIEW", detail: `view: no feature view named ${JSON.stringify(u.view)}` };
  }
  if (u.entity !== "" && u.entity !== view.entity) return { code: "ENTITY_MISMATCH", detail: `entity: view ${view.name} is keyed by ${view.entity}, not ${u.entity}` };
  if (u.entityId === "") return { code: "MISSING_ENTITY_ID", detail: "entity_id: empty" };
  if (!Number.isSafeInteger(u.asOf) || u.asOf <= 0) return { code: "BAD_EVENT_TIME", detail: `event_time_ms: ${u.asOf} is not a positive epoch-ms time` };
  return view;
}

const unknownFeature = (view: FeatureView, name: string): UpdateProblem => ({ code: "UNKNOWN_FEATURE", detail: `values: view ${view.name} has no feature ${JSON.stringify(name)}` });

/** Checks a plain update (WriteFeatures) against the registry and turns it into a write; a problem names the field. */
export function toPendingWrite(registry: FeatureRegistry, u: PlainFeatureUpdate, expiryGraceMs: number, now: number): Checked {
  const view = checkHeader(registry, u);
  if (isProblem(view)) return { ok: false, problem: view };
  for (const name in u.values) if (view.feature(name) === undefined) return { ok: false, problem: unknownFeature(view, name) };
  const producedAt = u.producedAt || now;
  const record = encodeFeatureUpdate({ ...u, producedAt });
  return {
    ok: true,
    write: { view: view.name, entityId: u.entityId, asOf: u.asOf, revision: u.revision, value: storedValue(u.asOf, u.revision, producedAt, record), expireAt: u.asOf + longestMaxAge(view) + expiryGraceMs },
  };
}

/**
 * The stream path's check: reads the record's header, checks its value names against the view, and
 * stores the record's bytes as they are (no decoding or re-encoding of values). Throws on bytes that
 * are not a FeatureUpdate (the caller dead-letters them as UNDECODABLE).
 */
export function createRecordChecker(registry: FeatureRegistry): (record: Uint8Array, expiryGraceMs: number, now: number) => Checked {
  // Each view's feature names as UTF-8 bytes, in view order: feature-ingest writes values in that
  // order, so the expected name is tried first and a key costs one short byte comparison.
  const names = new Map<string, { bytes: Uint8Array[]; maxAge: number } | null>();
  const namesOf = (viewName: string) => {
    let n = names.get(viewName);
    if (n === undefined) {
      let view: FeatureView | undefined;
      try {
        view = registry.getView(viewName);
      } catch {
        view = undefined;
      }
      n = view === undefined ? null : { bytes: view.features.map((f) => new TextEncoder().encode(f.name)), maxAge: longestMaxAge(view) };
      names.set(viewName, n);
    }
    return n;
  };
  const same = (name: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean => {
    if (name.length !== end - start) return false;
    for (let i = 0; i < name.length; i++) if (name[i] !== bytes[start + i]) return false;
    return true;
  };
  const check: ValueKeyCheck = (viewName, index, bytes, start, end) => {
    const known = namesOf(viewName);
    if (known === null) return true; // the unknown view is reported from the header
    const expected = known.bytes[index];
    if (expected !== undefined && same(expected, bytes, start, end)) return true;
    return known.bytes.some((name) => same(name, bytes, start, end));
  };
  return (record, expiryGraceMs, now) => {
    let h;
    try {
      h = scanFeatureUpdate(record, check);
    } catch (err) {
      if (!(err instanceof UnknownValueKeyError)) throw err;
      return { ok: false, problem: unknownFeature(registry.getView(err.view), err.key) };
    }
    const view = checkHeader(registry, h);
    if (isProblem(view)) return { ok: false, problem: view };
    const producedAt = h.producedAt || now;
    return {
      ok: true,
      write: { view: view.name, entityId: h.entityId, asOf: h.asOf, revision: h.revision, value: storedValue(h.asOf, h.revision, producedAt, record), expireAt: h.asOf + (namesOf(view.name)?.maxAge ?? 0) + expiryGraceMs },
    };
  };
}
