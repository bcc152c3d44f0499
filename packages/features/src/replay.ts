import type { Event } from "./event.js";
import { compareEvents } from "./event.js";
import type { EventRejection } from "./event-rejection.js";
import { createFeatureEngine, type FeatureEngine } from "./engine.js";
import type { FeatureUpdate } from "./feature-update.js";
import type { FeatureValue, FeatureView } from "./feature-view.js";
import { servedValues } from "./served-values.js";

/** Everything a replay produced, in input order. */
export interface ReplayResult {
  /** Updates, one per accepted event. */
  readonly updates: FeatureUpdate[];
  /** Refused events (TOO_LATE, DUPLICATE, or not for this view). */
  readonly rejections: EventRejection[];
  /** The engine after the last event (for `current`, `valuesAt`, `snapshot`). */
  readonly engine: FeatureEngine;
}

/** Runs events through a fresh engine in the order given: exactly what the stream computes for that order. */
export function replayEvents(view: FeatureView, events: Iterable<Event>): ReplayResult {
  const engine = createFeatureEngine({ view });
  const updates: FeatureUpdate[] = [];
  const rejections: EventRejection[] = [];
  for (const event of events) {
    const result = engine.ingest(event);
    if (result.ok) updates.push(result.update);
    else rejections.push(result.rejection);
  }
  return { updates, rejections, engine };
}

/** One point-in-time lookup: an entity at an instant (e.g. a label's prediction time). */
export interface PointInTimeQuery {
  /** Entity key. */
  readonly entityId: string;
  /** Epoch ms. */
  readonly at: number;
}

/** Answer to a `PointInTimeQuery`. */
export interface PointInTimeRow {
  /** Entity key. */
  readonly entityId: string;
  /** The instant asked for. */
  readonly at: number;
  /** Watermark of the entity at that instant (null when it had no event yet). */
  readonly asOf: number | null;
  /** Feature values. */
  readonly values: Record<string, FeatureValue>;
}

/** Options for `pointInTime`. */
export interface PointInTimeOptions {
  /**
   * "served" (default): what the online store served at `at` — values as of the entity's last event
   * at or before `at`, with max-age applied (`servedValues`); use it for training so training matches
   * serving. "exact": every window evaluated at `at` itself.
   */
  readonly mode?: "served" | "exact";
}

/**
 * Point-in-time feature values for training: replays `events` in (eventTime, eventId) order and
 * answers each query with only events at or before its instant (no leakage from the future).
 * Rows come back in query order.
 */
export function pointInTime(view: FeatureView, events: Iterable<Event>, queries: readonly PointInTimeQuery[], options: PointInTimeOptions = {}): PointInTimeRow[] {
  const mode = options.mode ?? "served";
  const sorted = [...events].sort(compareEvents);
  const order = queries.map((_, i) => i).sort((a, b) => (queries[a]?.at ?? 0) - (queries[b]?.at ?? 0));
  const engine = createFeatureEngine({ view });
  const rows: PointInTimeRow[] = new Array<PointInTimeRow>(queries.length);
  let next = 0;
  for (const index of order) {
    const query = queries[index];
    if (query === undefined) continue;
    while (next < sorted.length && (sorted[next] as Event).eventTime <= query.at) engine.ingest(sorted[next++] as Event);
    const asOf = engine.watermark(query.entityId) ?? null;
    const values = mode === "exact" ? engine.valuesAt(query.entityId, query.at) : servedValues(view, engine.current(query.entityId), query.at).values;
    rows[index] = { entityId: query.entityId, at: query.at, asOf, values };
  }
  return rows;
}
