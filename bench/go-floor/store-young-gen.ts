// feature-store's 1 x 10 read tail under a grpc-go caller, with the young generation its
// package.json asks for (nodeFlags) and with V8's default, in alternating rounds: what the README's
// "Node flags" paragraph quotes. Each round starts the store from src/ with --trace-gc, drives it with
// bench/go-floor's client (open loop, 1,000 cards seeded through WriteFeatures) and prints the
// caller's latencies, the store's scavenge pauses and its own latency histogram.
// Needs the stack (make up) and Go on PATH. Not part of `make bench`.
// Run: node --conditions=@loopline/source --import tsx bench/go-floor/store-young-gen.ts [rounds=2] [rate=500] [seconds=30]
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { serviceNodeFlags } from "@loopline/kit";
import { createClient } from "@loopline/proto";
import { FeatureStore, GetOnlineFeaturesRequestSchema } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { freePort, isolateStack } from "@loopline/testkit";
import { scrapeHistogram } from "../histogram.js";

const [rounds = 2, rate = 500, seconds = 30] = process.argv.slice(2).map(Number);
const root = fileURLToPath(new URL("../..", import.meta.url));
const here = fileURLToPath(new URL(".", import.meta.url));
const GRPC_PORT = await freePort();
const ADMIN_PORT = await freePort();
const CARDS = 1000;
const NAMES = ["txn_count_10m", "txn_count_1h", "txn_count_24h", "amount_sum_1h", "amount_sum_24h", "amount_mean_7d", "amount_max_24h", "ecom_count_1h", "countries_24h", "last_amount"];

if (spawnSync("go", ["version"]).status !== 0) throw new Error("Go is not on PATH: this script drives the store with bench/go-floor's grpc-go client");
const build = spawnSync("go", ["build", "-o", join(tmpdir(), "loopline-go-floor-client"), "./client"], { cwd: here, stdio: "inherit" });
if (build.status !== 0) throw new Error("go build ./client failed");
const client = join(tmpdir(), "loopline-go-floor-client");

const s = await isolateStack(undefined);
await s.kafka.ensureTopics([{ topic: `${s.topicPrefix}features`, partitions: 1 }, { topic: `${s.topicPrefix}features.dlq`, partitions: 1 }]);
const work = mkdtempSync(join(tmpdir(), "loopline-young-gen-"));
const requests = join(work, "requests.b64");
const refs = NAMES.map((n) => `card_txn:${n}`);
writeFileSync(
  requests,
  Array.from({ length: CARDS }, (_, i) => Buffer.from(toBinary(GetOnlineFeaturesRequestSchema, create(GetOnlineFeaturesRequestSchema, { entityIds: [`card-${i}`], features: refs }))).toString("base64")).join("\n"),
);

let store: ChildProcess | undefined;
process.on("exit", () => store?.kill("SIGKILL"));
const startStore = async (flags: string[]): Promise<{ gcLog: string[] }> => {
  const gcLog: string[] = [];
  store = spawn(process.execPath, [...flags, "--trace-gc", "--conditions=@loopline/source", "--import", "tsx", `${root}services/feature-store/src/main.ts`], {
    env: {
      ...process.env,
      LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(","),
      LOOPLINE_REDIS_URL: s.endpoints.redisUrl,
      LOOPLINE_TOPIC_PREFIX: s.topicPrefix,
      LOOPLINE_FEATURE_STORE_KEY_PREFIX: s.redisPrefix,
      LOOPLINE_FEATURE_STORE_GROUP: `${s.topicPrefix}store`,
      LOOPLINE_FEATURE_STORE_GRPC_HOST: "127.0.0.1",
      LOOPLINE_FEATURE_STORE_GRPC_PORT: String(GRPC_PORT),
      LOOPLINE_FEATURE_STORE_ADMIN_PORT: String(ADMIN_PORT),
      LOOPLINE_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let rest = "";
  store.stdout?.on("data", (d: Buffer) => {
    const lines = (rest + d.toString()).split("\n");
    rest = lines.pop() ?? "";
    gcLog.push(...lines);
  });
  // Ready once the gRPC port accepts connections (the admin server listens before it).
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const socket = connect(GRPC_PORT, "127.0.0.1", () => resolve(true));
      socket.once("error", () => resolve(false));
      socket.once("connect", () => socket.destroy());
    });
  for (let i = 0; ; i++) {
    if (await accepts()) return { gcLog };
    if (i > 300) throw new Error("feature-store not ready after 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
};
const stopStore = async () => {
  const p = store;
  store = undefined;
  if (p === undefined || p.exitCode !== null) return;
  p.kill("SIGTERM");
  await new Promise((r) => p.once("exit", r));
};

// Scavenge pauses while the caller ran (its 3,000 closed-loop warm-up calls included).
const scavenges = (gcLog: string[]) => {
  const pauses = gcLog.flatMap((l) => {
    const m = /Scavenge[^,]*, pooled: [\d.]+ MB, ([\d.]+) \/ [\d.]+ ms/.exec(l);
    return m ? [Number(m[1])] : [];
  });
  pauses.sort((a, b) => a - b);
  const at = (q: number) => pauses[Math.min(pauses.length - 1, Math.floor(q * pauses.length))] ?? Number.NaN;
  return `${pauses.length} scavenges, pause p50 ${at(0.5).toFixed(1)} / p90 ${at(0.9).toFixed(1)} / max ${at(1).toFixed(1)} ms`;
};
// Share of the store's own GetOnlineFeatures timings (its histogram) under 1, 2.5 and 5 ms.
const histogram = async () => {
  const buckets = await scrapeHistogram(`http://127.0.0.1:${ADMIN_PORT}/metrics`, "loopline_feature_store_grpc_seconds", 'method="GetOnlineFeatures",code="OK"');
  const all = buckets.get(Infinity) ?? Number.NaN;
  return [0.001, 0.0025, 0.005].map((le) => `${le * 1000} ms ${((100 * (buckets.get(le) ?? Number.NaN)) / all).toFixed(1)} %`).join(", ");
};

try {
  // Seed once: the keys outlive the store's restarts.
  await startStore([]);
  const writer = createClient(FeatureStore, `127.0.0.1:${GRPC_PORT}`);
  const now = BigInt(Date.now());
  for (let b = 0; b < CARDS / 100; b++) {
    const updates = Array.from({ length: 100 }, (_, k) => ({
      entity: "card",
      entityId: `card-${b * 100 + k}`,
      view: "card_txn",
      eventTimeMs: now,
      revision: 1n,
      values: Object.fromEntries(NAMES.map((n, j) => [n, { kind: { case: "number" as const, value: j * 1.5 + k } }])),
      producedAtMs: now,
    }));
    await writer.writeFeatures({ updates });
  }
  writer.close();
  await stopStore();

  const variants = [
    { name: `nodeFlags (${serviceNodeFlags(`${root}services/feature-store`).join(" ") || "none"})`, flags: serviceNodeFlags(`${root}services/feature-store`) },
    { name: "V8 default young generation", flags: [] },
  ];
  for (let round = 1; round <= rounds; round++) {
    for (const v of variants) {
      const { gcLog } = await startStore(v.flags);
      gcLog.length = 0; // start-up's scavenges are not the read path's
      // Asynchronously: the store's --trace-gc lines must keep flowing out of its stdout pipe.
      const caller = spawn(client, [`127.0.0.1:${GRPC_PORT}`, String(rate), String(seconds)], { env: { ...process.env, REQS: requests }, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      caller.stdout.on("data", (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((r) => caller.once("exit", r));
      if (code !== 0) throw new Error(`the go client exited with ${String(code)}`);
      console.log(`round ${round}, ${v.name}:\n  ${out.trim()}\n  store: ${scavenges(gcLog)}; its own timings under ${await histogram()}`);
      await stopStore();
    }
  }
} finally {
  await stopStore();
  rmSync(work, { recursive: true, force: true });
  await s.cleanup();
}
process.exit(0);
