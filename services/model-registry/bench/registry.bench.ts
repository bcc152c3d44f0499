// Registry benchmark against the running local stack, on an isolated topic prefix:
//   - registering a 10 MB ONNX model over gRPC (1 MiB chunks; validation, storage, Kafka ack): target < 2 s
//   - change-feed latency: TransitionStage sent → WatchChanges delivers the event, over 50 transitions: target < 100 ms
// Run from services/model-registry:  node --conditions=@loopline/source --import tsx bench/registry.bench.ts
// Prints a table, then one JSON line (the last line) for `make bench`.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Stage } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { isolateStack } from "@loopline/testkit";
import { registerOverGrpc, startRegistry } from "../src/test-harness.js";
import { largeModel, numericSignature } from "../src/test-models.js";

const REGISTRATIONS = 5;
const TRANSITIONS = 50;

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) as number };
};

async function main(): Promise<void> {
  const stack = await isolateStack(undefined);
  const artifactDir = await mkdtemp(join(tmpdir(), "loopline-registry-bench-"));
  const reg = await startRegistry({ topicPrefix: stack.topicPrefix, artifactDir });
  try {
    const base = largeModel(10);
    const signature = numericSignature(4, "features", "probability", 0);
    const registerMs: number[] = [];
    for (let i = 0; i < REGISTRATIONS; i++) {
      // A different model each time (one weight nudged) so content addressing does not short-cut the write.
      const bytes = Uint8Array.from(base);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = (bytes[at] as number) ^ (i + 1);
      const started = performance.now();
      const { version } = await registerOverGrpc(reg.client, "bench-large", bytes, signature);
      registerMs.push(performance.now() - started);
      if (version.statusReason !== "") throw new Error(`the 10 MB model was rejected: ${version.statusReason}`);
    }

    const { version } = await registerOverGrpc(reg.client, "bench-watch", largeModel(0.01), signature);
    const seenAt = new Map<bigint, number>();
    const controller = new AbortController();
    const from = reg.service.registry.lastSequence() + 1n;
    const watching = (async () => {
      try {
        for await (const { event } of reg.client.watchChanges({ fromSequence: from, model: "bench-watch" }, { signal: controller.signal, timeoutMs: 600_000 })) {
          if (event !== undefined) seenAt.set(event.sequence, performance.now());
        }
      } catch {
        // cancelled at the end
      }
    })();
    const watchMs: number[] = [];
    const rpcMs: number[] = [];
    let stage: Stage = Stage.CANDIDATE;
    for (let i = 0; i < TRANSITIONS; i++) {
      const to: Stage = stage === Stage.SHADOW ? Stage.CANARY : Stage.SHADOW;
      const sent = performance.now();
      const response = await reg.client.transitionStage({ model: "bench-watch", version: version.version, toStage: to, expectedStage: stage, actor: "bench" });
      rpcMs.push(performance.now() - sent);
      const sequence = response.version?.lastSequence ?? 0n;
      while (!seenAt.has(sequence)) await new Promise((resolve) => setTimeout(resolve, 1));
      watchMs.push((seenAt.get(sequence) as number) - sent);
      stage = to;
    }
    controller.abort();
    await watching;

    const reg10 = summary(registerMs);
    const watch = summary(watchMs);
    const rpc = summary(rpcMs);
    const rows: [string, string, string, string, string][] = [
      ["register 10 MB (median)", reg10.median.toFixed(1), `max ${reg10.max.toFixed(1)}`, "< 2000 ms", String(reg10.max < 2000)],
      ["watch latency (median)", watch.median.toFixed(2), `p99 ${watch.p99.toFixed(2)}`, "< 100 ms", String(watch.median < 100)],
      ["watch latency (p99)", watch.p99.toFixed(2), `max ${watch.max.toFixed(2)}`, "< 100 ms", String(watch.p99 < 100)],
      ["transition RPC (median)", rpc.median.toFixed(2), `p99 ${rpc.p99.toFixed(2)}`, "-", "-"],
    ];
    console.log(`registry benchmark: ${REGISTRATIONS} registrations of ${(base.length / 1024 / 1024).toFixed(1)} MiB, ${TRANSITIONS} watched transitions`);
    console.log("| measure | ms | spread | target | ok |\n|---|---|---|---|---|");
    for (const r of rows) console.log(`| ${r.join(" | ")} |`);
    console.log(
      JSON.stringify({
        bench: "registry",
        results: [
          { name: "register 10MB", loopline: Number(reg10.median.toFixed(1)), unit: "ms", target: "< 2000 ms", ok: reg10.max < 2000 },
          { name: "watch latency median", loopline: Number(watch.median.toFixed(2)), unit: "ms", target: "< 100 ms", ok: watch.median < 100 },
          { name: "watch latency p99", loopline: Number(watch.p99.toFixed(2)), unit: "ms", target: "< 100 ms", ok: watch.p99 < 100 },
        ],
      }),
    );
  } finally {
    await reg.stop();
    await rm(artifactDir, { recursive: true, force: true });
    await stack.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
