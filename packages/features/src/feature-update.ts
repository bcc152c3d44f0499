import type { FeatureValue } from "./feature-view.js";

/**
 * What the engine emits for every accepted event: the full feature values of one entity of one view.
 *
 * `values` are computed as of `asOf`, the entity's watermark (largest accepted event time): each
 * windowed feature covers the accepted events with time in (asOf - window, asOf]. An update is a
 * complete replacement, never a delta, so the newest update alone carries every contribution.
 *
 * Version order is (asOf, revision): `revision` counts the entity's accepted events, so it rises by
 * one with every update, including a late event's update that leaves `asOf` unchanged. A store that
 * keeps an update only when its version is strictly newer (`isNewerUpdate`) never drops a late
 * event's contribution, and ends with the same values for any arrival order within the lateness.
 */
export interface FeatureUpdate {
  /** View name. */
  readonly view: string;
  /** Entity type. */
  readonly entity: string;
  /** Entity key. */
  readonly entityId: string;
  /** Epoch ms the values are computed as of: the entity's watermark after this event. */
  readonly asOf: number;
  /** Number of events accepted for this entity so far; the tie-break when `asOf` is equal. */
  readonly revision: number;
  /** The event that produced this update. */
  readonly eventId: string;
  /** That event's time (below `asOf` when it arrived late). */
  readonly eventTime: number;
  /** Feature values by name, in view order. */
  readonly values: Readonly<Record<string, FeatureValue>>;
}

/** True when `candidate` should replace `stored`: strictly later `asOf`, or equal `asOf` and higher `revision`. */
export function isNewerUpdate(candidate: Pick<FeatureUpdate, "asOf" | "revision">, stored: Pick<FeatureUpdate, "asOf" | "revision"> | undefined): boolean {
  if (stored === undefined) return true;
  return candidate.asOf > stored.asOf || (candidate.asOf === stored.asOf && candidate.revision > stored.revision);
}
