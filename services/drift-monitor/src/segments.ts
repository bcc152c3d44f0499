// Segments: slices of traffic named by a served feature's value ("country=FR"), each windowed and reported
// on its own so a drift confined to one slice is not diluted by the rest. "" is all traffic.

/** A segment key: the label it shows under and the served feature it reads. */
export interface SegmentKey {
  /** Name in the segment label, e.g. "country" in "country=FR". */
  readonly name: string;
  /** Feature ref ("view:feature") read from the prediction's served features. */
  readonly featureRef: string;
}

/** The segment of all traffic. */
export const ALL_TRAFFIC = "";
/** Value shown when the segment feature was not served (null, not found, outside max age). */
export const MISSING_SEGMENT_VALUE = "(missing)";
/** Value that pools the values beyond the per-key cap. */
export const OTHER_SEGMENT_VALUE = "(other)";

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Parses LOOPLINE_DRIFT_SEGMENT_KEYS entries: "name=view:feature", or "view:feature" whose name is the part
 * after the last colon. Returns the keys, or the problem with the first bad entry.
 */
export function parseSegmentKeys(entries: readonly string[]): { keys: SegmentKey[] } | { problem: string } {
  const keys: SegmentKey[] = [];
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    const featureRef = (eq >= 0 ? entry.slice(eq + 1) : entry).trim();
    const name = (eq >= 0 ? entry.slice(0, eq) : featureRef.slice(featureRef.lastIndexOf(":") + 1)).trim();
    if (featureRef === "") return { problem: `${JSON.stringify(entry)}: no feature ref` };
    if (!NAME.test(name)) return { problem: `${JSON.stringify(entry)}: segment name ${JSON.stringify(name)} must match ${String(NAME)}` };
    if (keys.some((k) => k.name === name)) return { problem: `segment name ${JSON.stringify(name)} is used twice` };
    keys.push({ name, featureRef });
  }
  return { keys };
}

/** The label of one segment, e.g. "country=FR". */
export function segmentLabel(key: SegmentKey, value: string): string {
  return `${key.name}=${value}`;
}

/** Text of a served value as a segment value; undefined when the feature is missing. */
export function segmentValue(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  return String(value);
}

/**
 * Caps the distinct values of each segment key so that a high-cardinality feature cannot create unbounded
 * windows and metric series: the first `max` values seen keep their name, later ones are pooled as (other).
 */
export function createSegmentCap(max: number): { label(scope: string, key: SegmentKey, value: string | undefined): string; forget(scope: string): void } {
  const seen = new Map<string, Set<string>>();
  return {
    label(scope, key, value) {
      const v = value ?? MISSING_SEGMENT_VALUE;
      const id = `${scope}\u0000${key.name}`;
      let values = seen.get(id);
      if (values === undefined) seen.set(id, (values = new Set()));
      if (values.has(v)) return segmentLabel(key, v);
      if (values.size >= max) return segmentLabel(key, OTHER_SEGMENT_VALUE);
      values.add(v);
      return segmentLabel(key, v);
    },
    forget(scope) {
      for (const id of seen.keys()) if (id.startsWith(`${scope}\u0000`)) seen.delete(id);
    },
  };
}
