import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEventTime } from "./event-time.js";

describe("parseEventTime", () => {
  // Reference instants: 2024-05-01T00:00:00Z = 1714521600000 ms
  // (19844 days since 1970-01-01, 19844 * 86400000 = 1714521600000).
  const valid: Array<[unknown, number]> = [
    [1714521600000, 1714521600000],
    [0, 0],
    ["2024-05-01T00:00:00Z", 1714521600000],
    ["2024-05-01t00:00:00z", 1714521600000],
    ["2024-05-01T12:30:15.250Z", 1714521600000 + 12 * 3_600_000 + 30 * 60_000 + 15_000 + 250], // 1714566615250
    ["2024-05-01T12:30:15.2509Z", 1714566615250], // sub-millisecond digits truncated
    ["2024-05-01T12:30:15.2Z", 1714566615200],
    ["2024-05-01T02:00:00+02:00", 1714521600000], // 02:00 at +02:00 is 00:00Z
    ["2024-04-30T22:30:00-01:30", 1714521600000], // 22:30 at -01:30 is 00:00Z next day
    ["2024-02-29T00:00:00Z", 1709164800000], // leap day: 19782 days * 86400000
  ];
  for (const [input, ms] of valid) {
    it(`accepts ${JSON.stringify(input)}`, () => assert.deepEqual(parseEventTime(input), { ok: true, ms }));
  }
  const invalid: unknown[] = [
    1.5, -1, 9e15, Number.NaN, "2024-05-01", "2024-05-01 00:00:00Z", "2024-05-01T00:00:00", "2024-13-01T00:00:00Z",
    "2023-02-29T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T23:59:60Z", "2024-05-01T00:00:00+24:00", "1969-12-31T23:59:59Z",
    "1714521600000", null, true, {},
  ];
  for (const input of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => assert.equal(parseEventTime(input).ok, false));
  }
});
