import { cardTxnView, fraudV1FeatureSet } from "./fraud.js";
import { createFeatureRegistry, type FeatureRegistry, type FeatureSet } from "./registry.js";
import type { FeatureView } from "./feature-view.js";

/** The registry shipped with Loopline: the views and feature sets every service and replay loads by name. */
export const builtinRegistry: FeatureRegistry = createFeatureRegistry({
  views: [cardTxnView],
  featureSets: [fraudV1FeatureSet],
});

/** The built-in view called `name`; throws FeatureError(UNKNOWN_VIEW). */
export function getFeatureView(name: string): FeatureView {
  return builtinRegistry.getView(name);
}

/** The built-in feature set called `name`; throws FeatureError(UNKNOWN_FEATURE_SET). */
export function getFeatureSet(name: string): FeatureSet {
  return builtinRegistry.getFeatureSet(name);
}
