// A gRPC load generator for unary calls with a pre-encoded payload: the same bytes go to every
// server it drives, so Loopline and a bare echo server are measured with identical client cost.
// Its default payload is a v2 ModelInferRequest, so it drives any Open Inference Protocol server.
//
// CLI (one JSON line on stdout):
//   node --conditions=@loopline/source --import tsx services/inference/src/testing/loadgen.ts \
//     --address 127.0.0.1:50052 --method /inference.GRPCInferenceService/ModelInfer \
//     --payload request.bin --concurrency 64 --seconds 5 [--rate 5000]
import { readFileSync } from "node:fs";
import { Client, credentials, type ServiceError } from "@grpc/grpc-js";

/** Options of runLoad. */
export interface LoadOptions {
  /** "host:port". */
  address: string;
  /** Full method path, e.g. "/inference.GRPCInferenceService/ModelInfer". */
  method: string;
  /** Serialized request message. */
  payload: Uint8Array;
  /** Requests in flight (closed loop), or the cap on them (open loop). */
  concurrency: number;
  /** Measured duration, seconds (after a 0.5 s warm-up). */
  seconds: number;
  /** Open loop at this many requests/s; closed loop when absent. */
  rate?: number;
  /** Channels to spread calls over (HTTP/2 connections). Default 4. */
  channels?: number;
}

/** What a run measured. */
export interface LoadResult {
  requests: number;
  errors: number;
  firstError?: string;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const identity = (b: Buffer): Buffer => b;

/** Drives a server for `seconds` and reports throughput and latency percentiles. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const clients = Array.from({ length: options.channels ?? 4 }, (_, i) => new Client(options.address, credentials.createInsecure(), { "grpc.max_receive_message_length": 64 << 20, "grpc.max_send_message_length": 64 << 20, "channel-id": i }));
  const payload = Buffer.from(options.payload);
  const call = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const client = clients[i % clients.length] as Client;
      client.makeUnaryRequest(options.method, identity, identity, payload, (err: ServiceError | null) => (err === null ? resolve() : reject(err)));
    });
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let measuring = false;
  const one = async (i: number, scheduledAt?: number) => {
    const started = scheduledAt ?? performance.now();
    try {
      await call(i);
      if (measuring) latencies.push(performance.now() - started);
    } catch (err) {
      if (measuring) errors++;
      firstError ??= (err as Error).message;
    }
  };
  const run = async (seconds: number) => {
    const until = performance.now() + seconds * 1000;
    if (options.rate === undefined) {
      await Promise.all(
        Array.from({ length: options.concurrency }, async (_, w) => {
          while (performance.now() < until) await one(w);
        }),
      );
      return;
    }
    const interval = 1000 / options.rate;
    const start = performance.now();
    let sent = 0;
    let inFlight = 0;
    const pending = new Set<Promise<void>>();
    while (performance.now() < until) {
      const due = Math.floor((performance.now() - start) / interval);
      while (sent < due && inFlight < options.concurrency) {
        const scheduled = start + sent * interval;
        inFlight++;
        const p = one(sent, scheduled).finally(() => {
          inFlight--;
          pending.delete(p);
        });
        pending.add(p);
        sent++;
      }
      if (sent < due) sent = due; // over the in-flight cap: those requests are skipped, not queued
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(pending);
  };
  await run(0.5);
  measuring = true;
  const started = performance.now();
  await run(options.seconds);
  const elapsed = (performance.now() - started) / 1000;
  for (const c of clients) c.close();
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { requests: latencies.length, errors, ...(firstError === undefined ? {} : { firstError }), perSecond: latencies.length / elapsed, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

function arg(name: string): string | undefined {
  const i = process.argv.lastIndexOf(`--${name}`); // the last occurrence wins, so callers can override
  return i < 0 ? undefined : process.argv[i + 1];
}

if (process.argv[1]?.endsWith("loadgen.ts") === true || process.argv[1]?.endsWith("loadgen.js") === true) {
  const rate = arg("rate");
  const result = await runLoad({
    address: arg("address") ?? "127.0.0.1:50052",
    method: arg("method") ?? "/inference.GRPCInferenceService/ModelInfer",
    payload: readFileSync(arg("payload") ?? "request.bin"),
    concurrency: Number(arg("concurrency") ?? 64),
    seconds: Number(arg("seconds") ?? 5),
    ...(rate === undefined ? {} : { rate: Number(rate) }),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
