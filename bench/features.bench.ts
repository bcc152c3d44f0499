// Issue 3's figures, measured against baselines in the same run:
//   1. ingest: events/s from Kafka to readable in Redis (feature-ingest + feature-store as separate
//      processes) vs a bare kafkajs consumer draining the same topic; target >= 50% of bare and >= 30,000/s
//   2. freshness p99 (event time -> readable in Redis) at 5,000 events/s; target < 250 ms
//   3. GetOnlineFeatures p99 for 1 entity x 10 features (< 2 ms) and 100 entities (< 10 ms), closed
//      loop at a stated concurrency, beside bare Redis HMGET at the same shape and concurrency
// Run: node --conditions=@loopline/source --import tsx bench/features.bench.ts  (stack up: make up)
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs"; // the bare baseline deliberately bypasses the kit
import { createRedis, silentLogger } from "@loopline/kit";
import { createClient } from "@loopline/proto";
import { FeatureStore } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { isolateStack } from "@loopline/testkit";

const EVENTS = Number(process.env["BENCH_FEATURE_EVENTS"] ?? 200_000);
const CARDS = 10_000;
const root = fileURLToPath(new URL("..", import.meta.url));
const results: { name: string; loopline: number; baseline?: number; unit: string; ratio?: number; target: string; ok: boolean }[] = [];
const log = (msg: string) => console.log(msg);

const s = await isolateStack(undefined);
const env = {
  ...process.env,
  LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(","),
  LOOPLINE_REDIS_URL: s.endpoints.redisUrl,
  LOOPLINE_TOPIC_PREFIX: s.topicPrefix,
  LOOPLINE_FEATURE_INGEST_STATE_PREFIX: s.redisPrefix,
  LOOPLINE_FEATURE_STORE_KEY_PREFIX: s.redisPrefix,
  LOOPLINE_FEATURE_INGEST_ADMIN_PORT: "0",
  LOOPLINE_FEATURE_STORE_ADMIN_PORT: "19402",
  LOOPLINE_FEATURE_STORE_GRPC_PORT: "0",
  LOOPLINE_FEATURE_STORE_GRPC_HOST: "127.0.0.1",
  LOOPLINE_FEATURE_STORE_GRPC_PORT_FILE: "",
  LOOPLINE_FEATURE_INGEST_GROUP: `${s.topicPrefix}ingest`,
  LOOPLINE_FEATURE_STORE_GROUP: `${s.topicPrefix}store`,
  LOOPLINE_LOG_LEVEL: "warn",
};
const children: ChildProcess[] = [];
const startService = (name: string, extra: Record<string, string> = {}) => {
  // BENCH_PROFILE=dir writes a V8 CPU profile of each service process there (for hot-path work).
  const prof = process.env["BENCH_PROFILE"] ? ["--cpu-prof", `--cpu-prof-dir=${process.env["BENCH_PROFILE"]}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...prof, "--conditions=@loopline/source", "--import", "tsx", `${root}services/${name}/src/main.ts`], {
    env: { ...env, ...extra },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  return child;
};
// Never leave service processes behind, whatever ends this run.
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
const stopAll = async () => {
  for (const c of children.splice(0)) {
    c.kill("SIGTERM");
    await new Promise((r) => c.once("exit", r));
  }
};

const eventsTopic = `${s.topicPrefix}events`;
const featuresTopic = `${s.topicPrefix}features`;
await s.kafka.ensureTopics([
  { topic: eventsTopic, partitions: 3 },
  { topic: `${eventsTopic}.dlq`, partitions: 1 },
  { topic: featuresTopic, partitions: 3 },
  { topic: `${featuresTopic}.dlq`, partitions: 1 },
]);

function eventJson(i: number, time: number): { key: string; value: string } {
  const card = `card-${(i * 7919) % CARDS}`;
  return {
    key: card,
    value: JSON.stringify({
      event_id: `e-${i}`,
      entity: "card",
      entity_id: card,
      event_time: time,
      type: "transaction",
      fields: { amount: ((i * 37) % 50_000) / 100, merchant_category: ["5411", "5812", "5999"][i % 3], country: ["US", "FR"][i % 2], channel: ["pos", "ecom", "atm"][i % 3] },
    }),
  };
}

// ---- 1. throughput -----------------------------------------------------------------------
log(`producing ${EVENTS} events over ${CARDS} cards...`);
const producer = await s.kafka.createProducer();
const t0 = Date.UTC(2026, 10, 1);
for (let i = 0; i < EVENTS; i += 5000) {
  const batch = [];
  for (let j = i; j < Math.min(i + 5000, EVENTS); j++) batch.push(eventJson(j, t0 + j * 10));
  await producer.send(eventsTopic, batch);
}

async function committedAll(group: string, topic: string): Promise<boolean> {
  const ends = await s.kafka.topicEndOffsets(topic);
  const committed = await s.kafka.groupOffsets(group, topic);
  return ends.every((e) => e.offset === "0" || committed.find((c) => c.partition === e.partition)?.offset === e.offset);
}

// Baseline: bare kafkajs, eachBatch doing nothing but resolving offsets.
{
  const kafka = new Kafka({ clientId: "bench-bare", brokers: s.endpoints.kafkaBrokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${s.topicPrefix}bare`, maxBytesPerPartition: 1024 * 1024, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: eventsTopic, fromBeginning: true });
  let seen = 0;
  let started = 0;
  let finished = 0;
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch }) => {
      if (started === 0) started = performance.now();
      seen += batch.messages.length;
      if (seen >= EVENTS && finished === 0) finished = performance.now();
    },
  });
  const wall = performance.now();
  while (finished === 0 && performance.now() - wall < 300_000) await new Promise((r) => setTimeout(r, 20));
  await consumer.disconnect();
  const bareRate = EVENTS / ((finished - started) / 1000);
  log(`bare kafkajs drain: ${bareRate.toFixed(0)} events/s`);

  // Loopline: both services as separate processes. The clock starts at the ingest's first committed
  // batch (the bare consumer's clock also starts at its first batch: process start and group join
  // are excluded on both sides) and stops when both groups have committed everything.
  const launched = performance.now();
  startService("feature-store");
  startService("feature-ingest");
  const committedSum = async (group: string, topic: string) => (await s.kafka.groupOffsets(group, topic)).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  let begin = 0;
  let atBegin = 0;
  for (;;) {
    if (begin === 0) {
      const n = await committedSum(`${s.topicPrefix}ingest`, eventsTopic);
      if (n > 0) {
        begin = performance.now();
        atBegin = n;
      }
    } else if ((await committedAll(`${s.topicPrefix}ingest`, eventsTopic)) && (await committedAll(`${s.topicPrefix}store`, featuresTopic))) break;
    await new Promise((r) => setTimeout(r, 50));
    if (performance.now() - launched > 600_000) throw new Error("ingest did not finish in 10 minutes");
  }
  const secs = (performance.now() - begin) / 1000;
  const rate = (EVENTS - atBegin) / secs;
  log(`loopline ingest -> readable in Redis: ${rate.toFixed(0)} events/s (${EVENTS - atBegin} events in ${secs.toFixed(1)} s after the first committed batch)`);
  const ratio = rate / bareRate;
  results.push({ name: `ingest ${EVENTS} events to readable in Redis`, loopline: rate, baseline: bareRate, unit: "events/s", ratio, target: ">= 0.5x bare and >= 30,000/s", ok: ratio >= 0.5 && rate >= 30_000 });
}

if (process.env["BENCH_ONLY_THROUGHPUT"] === "1") {
  await stopAll();
  await producer.close();
  await s.cleanup();
  console.log(JSON.stringify({ bench: "features", results }));
  process.exit(0);
}

// ---- 2. freshness at 5,000 events/s --------------------------------------------------------
async function freshnessBuckets(): Promise<Map<number, number>> {
  const text = await (await fetch("http://127.0.0.1:19402/metrics")).text();
  const m = new Map<number, number>();
  for (const line of text.split("\n")) {
    const hit = /^loopline_feature_store_freshness_seconds_bucket\{le="([^"]+)".*\} (\d+)/.exec(line);
    if (hit) m.set(hit[1] === "+Inf" ? Infinity : Number(hit[1]), Number(hit[2]));
  }
  return m;
}
function quantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (let i = 0; i < bounds.length; i++) {
    const c = counts[i] ?? 0;
    if (c >= rank) {
      const b = bounds[i] as number;
      if (!Number.isFinite(b)) return prevBound;
      return prevBound + ((rank - prevCount) / Math.max(1, c - prevCount)) * (b - prevBound); // linear within the bucket
    }
    prevBound = bounds[i] as number;
    prevCount = c;
  }
  return prevBound;
}
{
  const before = await freshnessBuckets();
  const rate = 5000;
  const seconds = 20;
  log(`freshness: producing ${rate} events/s for ${seconds}s with event_time = now...`);
  let i = EVENTS;
  const start = Date.now();
  for (let tick = 0; tick < seconds * 20; tick++) {
    const due = start + tick * 50;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const batch = [];
    for (let j = 0; j < rate / 20; j++) batch.push(eventJson(i++, Date.now()));
    void producer.send(eventsTopic, batch);
  }
  await new Promise((r) => setTimeout(r, 3000));
  const after = await freshnessBuckets();
  const p50 = quantile(before, after, 0.5) * 1000;
  const p99 = quantile(before, after, 0.99) * 1000;
  log(`freshness at ${rate}/s: p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (from the store's histogram, interpolated within buckets)`);
  results.push({ name: `freshness p99 at ${rate} events/s`, loopline: p99, unit: "ms", target: "< 250 ms", ok: p99 < 250 });
}
await stopAll();

// ---- 3. GetOnlineFeatures latency -----------------------------------------------------------
{
  const store = startService("feature-store", { LOOPLINE_FEATURE_STORE_GRPC_PORT: "50951" });
  void store;
  const client = createClient(FeatureStore, "127.0.0.1:50951", { timeoutMs: 5000 });
  for (let i = 0; i < 100; i++) {
    try {
      await client.getOnlineFeatures({ entityIds: ["card-1"], features: ["card_txn:txn_count_1h"] });
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const refs = ["txn_count_10m", "txn_count_1h", "txn_count_24h", "amount_sum_1h", "amount_sum_24h", "amount_mean_7d", "amount_max_24h", "ecom_count_1h", "countries_24h", "last_amount"].map((f) => `card_txn:${f}`);
  const redis = createRedis({ url: s.endpoints.redisUrl, logger: silentLogger, mode: "background" });
  // Baseline data shape: one hash per card with the same 10 fields.
  const seed = redis.pipeline();
  for (let c = 0; c < 1000; c++) seed.hset(`${s.redisPrefix}bare:card-${c}`, Object.fromEntries(refs.map((r, i) => [r, String(i * c)])));
  await seed.exec();

  const closedLoop = async (label: string, concurrency: number, n: number, call: (i: number) => Promise<unknown>) => {
    const lat: number[] = [];
    let next = 0;
    const begin = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const i = next++;
          const t = performance.now();
          await call(i);
          lat.push(performance.now() - t);
        }
      }),
    );
    const secs = (performance.now() - begin) / 1000;
    lat.sort((a, b) => a - b);
    const pick = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] as number;
    log(`${label}: ${(n / secs).toFixed(0)} calls/s at concurrency ${concurrency}, p50 ${pick(0.5).toFixed(3)} ms, p99 ${pick(0.99).toFixed(3)} ms`);
    return { p99: pick(0.99), rate: n / secs };
  };
  for (let w = 0; w < 500; w++) await client.getOnlineFeatures({ entityIds: [`card-${w % 1000}`], features: refs }); // warm-up (JIT)
  const conc = 4;
  const one = await closedLoop("GetOnlineFeatures 1x10", conc, 10_000, (i) => client.getOnlineFeatures({ entityIds: [`card-${i % CARDS}`], features: refs }));
  const bareOne = await closedLoop("bare HMGET 1x10", conc, 10_000, (i) => redis.hmget(`${s.redisPrefix}bare:card-${i % 1000}`, ...refs));
  results.push({ name: `GetOnlineFeatures p99, 1 entity x 10 features, ${conc} concurrent`, loopline: one.p99, baseline: bareOne.p99, unit: "ms", ratio: one.p99 / bareOne.p99, target: "< 2 ms", ok: one.p99 < 2 });
  const ids = (i: number) => Array.from({ length: 100 }, (_, k) => `card-${(i * 100 + k) % CARDS}`);
  const hundred = await closedLoop("GetOnlineFeatures 100x10", conc, 2000, (i) => client.getOnlineFeatures({ entityIds: ids(i), features: refs }));
  const bareHundred = await closedLoop("bare pipelined HMGET 100x10", conc, 2000, async (i) => {
    const p = redis.pipeline();
    for (let k = 0; k < 100; k++) p.hmget(`${s.redisPrefix}bare:card-${(i * 100 + k) % 1000}`, ...refs);
    await p.exec();
  });
  results.push({ name: `GetOnlineFeatures p99, 100 entities x 10 features, ${conc} concurrent`, loopline: hundred.p99, baseline: bareHundred.p99, unit: "ms", ratio: hundred.p99 / bareHundred.p99, target: "< 10 ms", ok: hundred.p99 < 10 });
  client.close();
  redis.disconnect();
}
await stopAll();
await producer.close();
await s.cleanup();
console.log(JSON.stringify({ bench: "features", results }));
process.exit(0);
