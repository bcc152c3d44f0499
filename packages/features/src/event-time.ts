/** Result of `parseEventTime`: epoch milliseconds, or why the value is not an event time. */
export type EventTimeResult = { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly message: string };

// RFC 3339 date-time: full-date "T" full-time, offset Z or ±hh:mm. "T"/"Z" may be lower case (RFC 3339 §5.6).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
// ±8.64e15 ms is the range of a JavaScript Date; epoch 0 is the earliest time we accept.
const MAX_MS = 8.64e15;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Parses an event time: a JSON number of epoch milliseconds (a non-negative integer) or an RFC 3339
 * string. Fractions below a millisecond are truncated, so equal instants always give equal numbers.
 * Leap seconds (":60") are refused: epoch milliseconds cannot represent them.
 */
export function parseEventTime(value: unknown): EventTimeResult {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0 || value > MAX_MS) {
      return { ok: false, message: `epoch milliseconds must be an integer in [0, 8.64e15], got ${value}` };
    }
    return { ok: true, ms: value };
  }
  if (typeof value !== "string") return { ok: false, message: `must be an RFC 3339 string or epoch milliseconds, got ${value === null ? "null" : typeof value}` };
  const m = RFC3339.exec(value);
  if (m === null) return { ok: false, message: `${JSON.stringify(value.slice(0, 64))} is not RFC 3339 (e.g. 2024-05-01T12:00:00.250Z)` };
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, message: `${JSON.stringify(value)} is not a valid calendar date and time` };
  }
  const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, "0").slice(0, 3));
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return { ok: false, message: `${JSON.stringify(value)} has an invalid UTC offset` };
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  // Date.UTC maps years 0-99 to 1900-1999; such dates are before epoch 0 and refused anyway.
  if (!(ms >= 0 && ms <= MAX_MS) || year < 1970) return { ok: false, message: `${JSON.stringify(value)} is before 1970-01-01T00:00:00Z` };
  return { ok: true, ms };
}
