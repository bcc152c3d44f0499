// The open-loop load both latency benchmarks use: calls start on a fixed schedule whatever the
// answers do, and each latency runs from the call's scheduled start, so a stall delays every call
// scheduled during it (no coordinated omission). A call sent up to 1 ms early (timer granularity)
// is timed from its send.

/** Latencies (ms) of `rate × seconds` calls started at `rate` per second, sorted ascending. */
export async function openLoopLatencies(rate: number, seconds: number, call: (i: number) => Promise<unknown>): Promise<Float64Array> {
  const n = Math.round(rate * seconds);
  const lat = new Float64Array(n);
  // A count of unanswered calls, not an array of their promises: keeping 5,000 settled promises
  // (and their closures) alive to the end only fed the generator's own GC, whose pauses land in
  // the latencies it measures.
  let pending = 0;
  let failure: { error: unknown } | undefined;
  let allSent = false;
  let settle: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (settle = resolve));
  const answered = () => {
    pending--;
    if (allSent && pending === 0) settle();
  };
  const begin = performance.now();
  for (let i = 0; i < n && failure === undefined; i++) {
    const due = begin + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const now = performance.now();
    const start = now < due ? now : due;
    pending++;
    call(i).then(
      () => {
        lat[i] = performance.now() - start;
        answered();
      },
      (error: unknown) => {
        failure ??= { error };
        answered();
      },
    );
  }
  allSent = true;
  if (pending > 0) await done;
  if (failure !== undefined) throw failure.error;
  return lat.sort();
}

/** The q-quantile of sorted latencies (nearest rank). */
export function quantileOf(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
