// The open-loop load both latency benchmarks use: calls start on a fixed schedule whatever the
// answers do, and each latency runs from the call's scheduled start, so a stall delays every call
// scheduled during it (no coordinated omission). A call sent up to 1 ms early (timer granularity)
// is timed from its send.

/** Latencies (ms) of `rate × seconds` calls started at `rate` per second, sorted ascending. */
export async function openLoopLatencies(rate: number, seconds: number, call: (i: number) => Promise<unknown>): Promise<Float64Array> {
  const n = Math.round(rate * seconds);
  const lat = new Float64Array(n);
  const inFlight: Promise<void>[] = [];
  const begin = performance.now();
  for (let i = 0; i < n; i++) {
    const due = begin + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const now = performance.now();
    const start = now < due ? now : due;
    inFlight.push(call(i).then(() => void (lat[i] = performance.now() - start)));
  }
  await Promise.all(inFlight);
  return lat.sort();
}

/** The q-quantile of sorted latencies (nearest rank). */
export function quantileOf(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
