import type { FeatureUpdate } from "./feature-update.js";
import type { Feature, FeatureValue, FeatureView } from "./feature-view.js";

/** Status of a served feature value (Feast's numbering: PRESENT=1, NULL_VALUE=2, NOT_FOUND=3, OUTSIDE_MAX_AGE=4). */
export type ServedStatus = "PRESENT" | "NULL_VALUE" | "NOT_FOUND" | "OUTSIDE_MAX_AGE";

/** Values and statuses as served at one instant. */
export interface ServedValues {
  /** Value per feature, the default where the status is not PRESENT. */
  readonly values: Record<string, FeatureValue>;
  /** Status per feature. */
  readonly statuses: Record<string, ServedStatus>;
}

/**
 * What an online store serves at time `at` given the newest update it holds: a feature whose value
 * is `maxAge` or more old (at − asOf ≥ maxAge) is OUTSIDE_MAX_AGE and served as its default. With the
 * default maxAge (the window), that default is exactly right: every event the stored value counted
 * has left the window by then. Training that joins through this function sees what serving saw.
 */
export function servedValues(view: FeatureView, update: Pick<FeatureUpdate, "asOf" | "values"> | undefined, at: number): ServedValues {
  const values: Record<string, FeatureValue> = {};
  const statuses: Record<string, ServedStatus> = {};
  for (const f of view.features) {
    const status = servedStatus(f, update, at);
    statuses[f.name] = status;
    values[f.name] = servedValue(f, update, status);
  }
  return { values, statuses };
}

/** One feature's status as `servedValues` gives it, without building the whole view's values. */
export function servedStatus(feature: Feature, update: Pick<FeatureUpdate, "asOf" | "values"> | undefined, at: number): ServedStatus {
  const stored = update?.values[feature.name];
  if (update === undefined || stored === undefined) return "NOT_FOUND";
  if (at - update.asOf >= feature.maxAgeMs) return "OUTSIDE_MAX_AGE";
  return stored === null ? "NULL_VALUE" : "PRESENT";
}

/** One feature's served value given its `servedStatus`: the stored value, or the default when it is not served. */
export function servedValue(feature: Feature, update: Pick<FeatureUpdate, "asOf" | "values"> | undefined, status: ServedStatus): FeatureValue {
  return status === "PRESENT" || status === "NULL_VALUE" ? (update?.values[feature.name] ?? null) : feature.defaultValue;
}
