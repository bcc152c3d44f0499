import { FeatureError } from "./errors.js";
import type { Event, FieldValue } from "./event.js";
import type { EventRejection } from "./event-rejection.js";
import { ExactSum } from "./exact-sum.js";
import { formatDuration } from "./duration.js";
import type { FeatureUpdate } from "./feature-update.js";
import type { FeatureValue, FeatureView } from "./feature-view.js";
import { compilePlan, type FeaturePlan, type Plan } from "./plan.js";
import { SeriesState } from "./series.js";

/** Outcome of `FeatureEngine.ingest`: the update to publish, or why the event does not count. */
export type IngestResult = { readonly ok: true; readonly update: FeatureUpdate } | { readonly ok: false; readonly rejection: EventRejection };

/** One retained event in a snapshot: [eventTime, eventId, typeIndex, ...stored field values (null when absent)]. */
export type SnapshotEntry = readonly [number, string, number, ...(FieldValue | null)[]];

/** Persisted state of one entity: enough to rebuild every accumulator exactly. */
export interface EntitySnapshot {
  /** Entity key. */
  readonly entityId: string;
  /** Largest accepted event time. */
  readonly watermark: number;
  /** Accepted events so far (the next update's revision minus one). */
  readonly revision: number;
  /** Retained events (time ≥ watermark − retention) in (eventTime, eventId) order. */
  readonly entries: readonly SnapshotEntry[];
}

/**
 * Serialisable engine state (plain JSON). Entry values follow the view's stored-field order and type
 * indices its sorted source types; both are pinned by `fingerprint`, so a snapshot only restores into
 * an identical view definition.
 */
export interface EngineSnapshot {
  /** Snapshot format version. */
  readonly format: 1;
  /** View name. */
  readonly view: string;
  /** `FeatureView.fingerprint` of the view that wrote it. */
  readonly fingerprint: string;
  /** Entities captured. */
  readonly entities: readonly EntitySnapshot[];
}

/** Options for `createFeatureEngine`. */
export interface FeatureEngineOptions {
  /** The view to compute (one engine per view; route events by `view.entity` and `view.sourceTypes`). */
  readonly view: FeatureView;
}

/**
 * The deterministic windowed aggregation engine for one view. Pure and synchronous: no I/O, no clock.
 * The stream (feature-ingest) and replay/backfill/training both run this, so their values agree.
 */
export interface FeatureEngine {
  /** The view computed. */
  readonly view: FeatureView;
  /** Entities currently held. */
  readonly entityCount: number;
  /** Applies one validated event: an update to publish, or TOO_LATE / DUPLICATE / UNKNOWN_ENTITY / UNKNOWN_TYPE. */
  ingest(event: Event): IngestResult;
  /** The latest update of an entity (values as of its watermark), recomputed without changing state. */
  current(entityId: string): FeatureUpdate | undefined;
  /**
   * Values with every window evaluated at `at`: events with time in (at − window, at]. Requires
   * at ≥ watermark − (retention − longest window) (older events may be gone); throws
   * FeatureError(AS_OF_OUT_OF_RANGE) otherwise. Unknown entities give every feature its default.
   */
  valuesAt(entityId: string, at: number): Record<string, FeatureValue>;
  /** The entity's watermark (largest accepted event time), if it is held. */
  watermark(entityId: string): number | undefined;
  /** Keys of the entities held. */
  entityIds(): IterableIterator<string>;
  /** Captures the given entities (default: all) as plain JSON-serialisable data. */
  snapshot(entityIds?: Iterable<string>): EngineSnapshot;
  /**
   * One entity's snapshot as JSON text, exactly `JSON.stringify` of its `EntitySnapshot`; undefined
   * when the entity is not held. For checkpoints after every batch: each retained event is
   * serialised once in its life, not once per checkpoint.
   */
  snapshotJson(entityId: string): string | undefined;
  /** Replaces the state of each entity in the snapshot; throws FeatureError(SNAPSHOT_VIEW_MISMATCH | INVALID_SNAPSHOT). */
  restore(snapshot: EngineSnapshot): void;
  /**
   * Forgets entities whose watermark is before `before`, except those in `keep`, returning how
   * many. An evicted entity's next event is treated as its first: safe when no event older than
   * `before` + retention can still arrive for it.
   */
  evictIdle(before: number, keep?: ReadonlySet<string>): number;
}

interface Entry {
  readonly t: number;
  readonly id: string;
  readonly type: number;
  readonly v: readonly (FieldValue | null)[];
  /** The entry's snapshot JSON (`[t, id, type, ...v]`), made at its first checkpoint. */
  json: string | undefined;
}

const entryJson = (e: Entry): string => (e.json ??= JSON.stringify([e.t, e.id, e.type, ...e.v]));

class EntityState {
  watermark = -Infinity;
  revision = 0;
  /** Retained events in (t, id) order. */
  entries: Entry[] = [];
  readonly ids = new Set<string>();
  /** Per window group: index of the first entry inside the window (t > watermark − window). */
  readonly starts: number[];
  readonly series: SeriesState[];

  constructor(plan: Plan) {
    this.starts = plan.windowsMs.map(() => 0);
    this.series = plan.series.map((s) => new SeriesState(s));
  }
}

function before(a: Entry, t: number, id: string): boolean {
  return a.t < t || (a.t === t && a.id < id);
}

/** Creates an engine for one view. */
export function createFeatureEngine(options: FeatureEngineOptions): FeatureEngine {
  const view = options.view;
  const plan = compilePlan(view);
  const lateness = view.allowedLatenessMs;
  const retention = view.retentionMs;
  const windows = plan.windowsMs;
  const groupSeries = plan.seriesByGroup;
  const storedFields = plan.storedFields;
  const states = new Map<string, EntityState>();
  const scratch = new ExactSum();
  // Every update's values are a clone of this fast-mode object (keys in view order). Filling a fresh
  // {} key by key instead turns a record of this many keys into a slow dictionary-mode object, which
  // costs more to build and to iterate (the encoder walks it for every published update).
  const valuesTemplate: Record<string, FeatureValue> = Object.fromEntries(plan.features.map((fp) => [fp.feature.name, fp.feature.defaultValue]));

  const rejection = (event: Event, code: EventRejection["code"], message: string, field?: string): IngestResult => {
    const r: { -readonly [K in keyof EventRejection]: EventRejection[K] } = { code, message, eventId: event.eventId, entityId: event.entityId };
    if (field !== undefined) r.field = field;
    return { ok: false, rejection: r };
  };

  const addToGroup = (state: EntityState, g: number, entry: Entry): void => {
    for (const s of groupSeries[g] as readonly number[]) {
      const series = state.series[s] as SeriesState;
      const value = series.contribution(entry.type, entry.v);
      if (value !== undefined) series.add(value);
    }
  };
  const removeFromGroup = (state: EntityState, g: number, entry: Entry): void => {
    for (const s of groupSeries[g] as readonly number[]) {
      const series = state.series[s] as SeriesState;
      const value = series.contribution(entry.type, entry.v);
      if (value !== undefined) series.remove(value);
    }
  };

  // Reads one feature from accumulators over entries[lo, hi) (the feature's window).
  const read = (fp: FeaturePlan, series: SeriesState, entries: readonly Entry[], lo: number, hi: number): FeatureValue => {
    const f = fp.feature;
    const n = series.count;
    if (n === 0) return f.defaultValue;
    switch (f.aggregation) {
      case "count":
        return n;
      case "distinct_count":
        return series.distinct?.size ?? 0;
      case "sum":
        return series.sum?.value() ?? 0;
      case "mean":
        return (series.sum?.value() ?? 0) / n;
      case "stddev":
        return series.stddev(0, scratch);
      case "stddev_sample":
        return n < 2 ? f.defaultValue : series.stddev(1, scratch);
      case "min":
      case "max": {
        const isMin = f.aggregation === "min";
        if (isMin ? series.minStale : series.maxStale) {
          let best = isMin ? Infinity : -Infinity;
          for (let i = lo; i < hi; i++) {
            const e = entries[i] as Entry;
            const value = series.contribution(e.type, e.v);
            if (typeof value === "number" && (isMin ? value < best : value > best)) best = value;
          }
          if (isMin) {
            series.min = best;
            series.minStale = false;
          } else {
            series.max = best;
            series.maxStale = false;
          }
        }
        return isMin ? series.min : series.max;
      }
      case "last": {
        // Latest in (eventTime, eventId) order: usually the final entry, so this scan is O(1).
        for (let i = hi - 1; i >= lo; i--) {
          const e = entries[i] as Entry;
          const value = series.contribution(e.type, e.v);
          if (value !== undefined) return value;
        }
        return f.defaultValue;
      }
    }
  };

  const valuesOf = (state: EntityState): Record<string, FeatureValue> => {
    const values = { ...valuesTemplate };
    const entries = state.entries;
    for (const fp of plan.features) {
      const series = state.series[fp.series] as SeriesState;
      values[fp.feature.name] = read(fp, series, entries, state.starts[series.plan.group] as number, entries.length);
    }
    return values;
  };

  const updateOf = (state: EntityState, entityId: string, eventId: string, eventTime: number): FeatureUpdate => ({
    view: view.name,
    entity: view.entity,
    entityId,
    asOf: state.watermark,
    revision: state.revision,
    eventId,
    eventTime,
    values: valuesOf(state),
  });

  // Moves every window's start to match `state.watermark`, expiring what fell out.
  const slide = (state: EntityState): void => {
    const entries = state.entries;
    const w = state.watermark;
    for (let g = 0; g < windows.length; g++) {
      const edge = w - (windows[g] as number);
      let start = state.starts[g] as number;
      while (start < entries.length && (entries[start] as Entry).t <= edge) removeFromGroup(state, g, entries[start++] as Entry);
      state.starts[g] = start;
    }
  };

  // Drops entries older than watermark − retention: outside every window and beyond dedup reach.
  const prune = (state: EntityState): void => {
    const entries = state.entries;
    const cutoff = state.watermark - retention;
    let k = 0;
    while (k < entries.length && (entries[k] as Entry).t < cutoff) state.ids.delete((entries[k++] as Entry).id);
    if (k === 0) return;
    // shift() left-trims in place in V8; splice(0, k) would copy and allocate on every event.
    if (k < 8) for (let i = 0; i < k; i++) entries.shift();
    else entries.splice(0, k);
    for (let g = 0; g < windows.length; g++) state.starts[g] = (state.starts[g] as number) - k;
  };

  const ingest = (event: Event): IngestResult => {
    // Hot path: guarded by bench/engine-throughput.ts (see README "Performance").
    if (event.entity !== view.entity) {
      return rejection(event, "UNKNOWN_ENTITY", `view ${view.name} is keyed by ${view.entity}, not ${event.entity}`, "entity");
    }
    const type = plan.typeIndex.get(event.type);
    if (type === undefined) return rejection(event, "UNKNOWN_TYPE", `view ${view.name} does not consume event type ${event.type}`, "type");
    const t = event.eventTime;
    let state = states.get(event.entityId);
    if (state !== undefined) {
      if (t < state.watermark - lateness) {
        return rejection(
          event,
          "TOO_LATE",
          `event_time ${new Date(t).toISOString()} is ${formatDuration(state.watermark - t)} behind the watermark of ${view.entity} ${event.entityId} (${new Date(state.watermark).toISOString()}); allowed lateness is ${formatDuration(lateness)}`,
          "event_time",
        );
      }
      if (state.ids.has(event.eventId)) {
        return rejection(event, "DUPLICATE", `event_id ${event.eventId} was already counted for ${view.entity} ${event.entityId}`, "event_id");
      }
    } else {
      state = new EntityState(plan);
      states.set(event.entityId, state);
    }

    const v: (FieldValue | null)[] = new Array<FieldValue | null>(storedFields.length);
    for (let i = 0; i < storedFields.length; i++) v[i] = event.fields[storedFields[i] as string] ?? null;
    const entry: Entry = { t, id: event.eventId, type, v, json: undefined };

    const entries = state.entries;
    const last = entries[entries.length - 1];
    if (last === undefined || before(last, t, entry.id)) {
      entries.push(entry);
    } else {
      // Late or tied event: binary search for its (t, id) slot.
      let lo = 0;
      let hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (before(entries[mid] as Entry, t, entry.id)) lo = mid + 1;
        else hi = mid;
      }
      entries.splice(lo, 0, entry);
    }
    // Windows are (watermark − w, watermark]. An event at or before a window's edge lands before its
    // start (shift the start); any other event joins the window.
    const w = state.watermark;
    for (let g = 0; g < windows.length; g++) {
      if (t > w - (windows[g] as number)) addToGroup(state, g, entry);
      else state.starts[g] = (state.starts[g] as number) + 1;
    }
    state.ids.add(entry.id);
    state.revision++;
    if (t > w) {
      state.watermark = t;
      slide(state);
      prune(state);
    }
    return { ok: true, update: updateOf(state, event.entityId, event.eventId, t) };
  };

  // Rebuilds starts and accumulators from entries (restore); equal to the incremental state because
  // every accumulator depends only on the set of entries in its window.
  const rebuild = (state: EntityState): void => {
    const entries = state.entries;
    for (let g = 0; g < windows.length; g++) {
      const edge = state.watermark - (windows[g] as number);
      let start = 0;
      while (start < entries.length && (entries[start] as Entry).t <= edge) start++;
      state.starts[g] = start;
      for (let i = start; i < entries.length; i++) addToGroup(state, g, entries[i] as Entry);
    }
  };

  const valuesAt = (entityId: string, at: number): Record<string, FeatureValue> => {
    const state = states.get(entityId);
    const values = { ...valuesTemplate }; // every feature's default, in view order
    if (state === undefined) return values;
    const earliest = state.watermark - (retention - view.maxWindowMs);
    if (at < earliest) {
      throw new FeatureError(
        "AS_OF_OUT_OF_RANGE",
        `${view.name}: values of ${entityId} at ${at} need events older than the state keeps; the earliest is ${earliest}`,
      );
    }
    const entries = state.entries;
    const fresh = plan.series.map((s) => new SeriesState(s));
    const ranges = windows.map((size) => {
      let lo = 0;
      while (lo < entries.length && (entries[lo] as Entry).t <= at - size) lo++;
      let hi = lo;
      while (hi < entries.length && (entries[hi] as Entry).t <= at) hi++;
      return [lo, hi] as const;
    });
    for (const series of fresh) {
      const [lo, hi] = ranges[series.plan.group] ?? [0, 0];
      for (let i = lo; i < hi; i++) {
        const e = entries[i] as Entry;
        const value = series.contribution(e.type, e.v);
        if (value !== undefined) series.add(value);
      }
    }
    for (const fp of plan.features) {
      const series = fresh[fp.series] as SeriesState;
      const [lo, hi] = ranges[series.plan.group] ?? [0, 0];
      values[fp.feature.name] = read(fp, series, entries, lo, hi);
    }
    return values;
  };

  const snapshotOf = (entityId: string, state: EntityState): EntitySnapshot => ({
    entityId,
    watermark: state.watermark,
    revision: state.revision,
    entries: state.entries.map((e): SnapshotEntry => [e.t, e.id, e.type, ...e.v]),
  });

  const bad = (message: string): FeatureError => new FeatureError("INVALID_SNAPSHOT", `${view.name} snapshot: ${message}`);

  const restoreEntity = (snap: EntitySnapshot): EntityState => {
    if (typeof snap.entityId !== "string" || !Number.isSafeInteger(snap.watermark) || !Number.isSafeInteger(snap.revision) || !Array.isArray(snap.entries)) {
      throw bad(`entity ${JSON.stringify(snap.entityId)} is not an entity snapshot`);
    }
    if (snap.entries.length === 0 || snap.revision < snap.entries.length) throw bad(`entity ${snap.entityId}: needs 1..revision entries`);
    const state = new EntityState(plan);
    state.watermark = snap.watermark;
    state.revision = snap.revision;
    let previous: Entry | undefined;
    for (const raw of snap.entries as readonly unknown[]) {
      if (!Array.isArray(raw)) throw bad(`entity ${snap.entityId}: an entry is not an array`);
      const [t, id, type, ...v] = raw as unknown[];
      const ok =
        typeof t === "number" && Number.isSafeInteger(t) && typeof id === "string" && typeof type === "number" && Number.isInteger(type) &&
        type >= 0 && type < plan.types.length && v.length === storedFields.length &&
        v.every((x) => x === null || typeof x === "string" || typeof x === "boolean" || (typeof x === "number" && Number.isFinite(x)));
      if (!ok) throw bad(`entity ${snap.entityId}: malformed entry ${JSON.stringify(raw).slice(0, 120)}`);
      const entry: Entry = { t, id, type, v: v as (FieldValue | null)[], json: undefined };
      if ((previous !== undefined && !before(previous, t, id)) || t > snap.watermark || t < snap.watermark - retention) {
        throw bad(`entity ${snap.entityId}: entries out of order, duplicated or outside the retention`);
      }
      state.entries.push(entry);
      state.ids.add(id);
      previous = entry;
    }
    rebuild(state);
    return state;
  };

  return {
    view,
    get entityCount() {
      return states.size;
    },
    ingest,
    current(entityId) {
      const state = states.get(entityId);
      const last = state?.entries[state.entries.length - 1];
      if (state === undefined || last === undefined) return undefined;
      return updateOf(state, entityId, last.id, last.t);
    },
    valuesAt,
    watermark: (entityId) => states.get(entityId)?.watermark,
    entityIds: () => states.keys(),
    snapshotJson(entityId) {
      const state = states.get(entityId);
      if (state === undefined) return undefined;
      // Same text as JSON.stringify(snapshotOf(...)): keys in EntitySnapshot order, numbers as JSON writes them.
      const entries = state.entries;
      let json = `{"entityId":${JSON.stringify(entityId)},"watermark":${JSON.stringify(state.watermark)},"revision":${state.revision},"entries":[`;
      for (let i = 0; i < entries.length; i++) json += (i === 0 ? "" : ",") + entryJson(entries[i] as Entry);
      return json + "]}";
    },
    snapshot(entityIds) {
      const entities: EntitySnapshot[] = [];
      for (const id of entityIds ?? states.keys()) {
        const state = states.get(id);
        if (state !== undefined) entities.push(snapshotOf(id, state));
      }
      return { format: 1, view: view.name, fingerprint: view.fingerprint, entities };
    },
    restore(snapshot) {
      if (snapshot.format !== 1 || !Array.isArray(snapshot.entities)) throw bad("unsupported format");
      if (snapshot.view !== view.name || snapshot.fingerprint !== view.fingerprint) {
        throw new FeatureError(
          "SNAPSHOT_VIEW_MISMATCH",
          `snapshot of ${snapshot.view}@${snapshot.fingerprint} cannot restore into ${view.name}@${view.fingerprint}; rebuild the state by replay`,
        );
      }
      // Validate everything before touching live state, so a bad snapshot changes nothing.
      const restored = snapshot.entities.map((e) => [e.entityId, restoreEntity(e)] as const);
      for (const [id, state] of restored) states.set(id, state);
    },
    evictIdle(cutoff, keep) {
      let evicted = 0;
      for (const [id, state] of states) {
        if (state.watermark < cutoff && keep?.has(id) !== true) {
          states.delete(id);
          evicted++;
        }
      }
      return evicted;
    },
  };
}
