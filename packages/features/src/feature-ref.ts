import { FeatureError } from "./errors.js";

/** A parsed feature reference `view:feature`. */
export interface FeatureRef {
  /** View name. */
  readonly view: string;
  /** Feature name within the view. */
  readonly feature: string;
}

const REF = /^([a-z][a-z0-9_]{0,63}):([a-z][a-z0-9_]{0,63})$/;

/** Parses `view:feature`; throws FeatureError(INVALID_FEATURE_REF) quoting the text when it is not one. */
export function parseFeatureRef(text: string): FeatureRef {
  const match = REF.exec(text);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new FeatureError("INVALID_FEATURE_REF", `${JSON.stringify(text)} is not a feature ref "view:feature" (lower snake case names)`);
  }
  return { view: match[1], feature: match[2] };
}

/** Formats a ref as `view:feature`. */
export function formatFeatureRef(ref: FeatureRef): string {
  return `${ref.view}:${ref.feature}`;
}
