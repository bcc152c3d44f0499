import type { FeatureUpdate } from "./feature-update.js";
import type { FeatureValue, FeatureView } from "./feature-view.js";

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
    const stored = update?.values[f.name];
    if (update === undefined || stored === undefined) {
      values[f.name] = f.defaultValue;
      statuses[f.name] = "NOT_FOUND";
    } else if (at - update.asOf >= f.maxAgeMs) {
      values[f.name] = f.defaultValue;
      statuses[f.name] = "OUTSIDE_MAX_AGE";
    } else {
      values[f.name] = stored;
      statuses[f.name] = stored === null ? "NULL_VALUE" : "PRESENT";
    }
  }
  return { values, statuses };
}
