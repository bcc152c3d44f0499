import { FeatureError } from "./errors.js";

/** A span of time in a definition: milliseconds, or a string such as "500ms", "30s", "10m", "1h", "7d". */
export type Duration = number | string;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+)(ms|s|m|h|d)$/;

/** Converts a `Duration` to whole milliseconds; throws FeatureError(INVALID_DEFINITION) naming `what` when malformed. */
export function parseDuration(value: Duration, what: string): number {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new FeatureError("INVALID_DEFINITION", `${what}: duration ${value} must be a non-negative integer number of milliseconds`);
  }
  const match = DURATION.exec(value);
  const unit = match?.[2] === undefined ? undefined : UNIT_MS[match[2]];
  if (match?.[1] === undefined || unit === undefined) {
    throw new FeatureError("INVALID_DEFINITION", `${what}: "${value}" is not a duration like "10m", "1h", "7d" (units ms, s, m, h, d)`);
  }
  const ms = Number(match[1]) * unit;
  if (!Number.isSafeInteger(ms)) throw new FeatureError("INVALID_DEFINITION", `${what}: duration "${value}" is too large`);
  return ms;
}

/** Formats milliseconds with the largest unit that divides them exactly ("1h", "90s", "0ms"); used in messages. */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = UNIT_MS[unit] ?? 1;
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
