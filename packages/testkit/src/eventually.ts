/** Options of eventually: how long to wait, and a label for the failure message. */
export interface EventuallyOptions {
  /** Give up after this long. Default 30000 ms. */
  timeoutMs?: number;
  /** What is awaited, for the failure message. */
  what?: string;
  /** Pause between probes. Default 100 ms. */
  intervalMs?: number;
}

/**
 * Polls `probe` until `ok` holds and returns that value; a probe that throws counts as "not yet".
 * Fails after the timeout naming what was awaited and the last value or error seen.
 * Pass a number as the third argument for just a timeout in ms.
 */
export async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, options: number | EventuallyOptions = {}): Promise<T> {
  const { timeoutMs = 30_000, what = "condition", intervalMs = 100 } = typeof options === "number" ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (ok(value)) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
      throw new Error(`${what} not reached within ${timeoutMs} ms; last seen: ${seen}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
