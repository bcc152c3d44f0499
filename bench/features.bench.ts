// Issue 3's figures, measured against baselines in the same run:
//   1. ingest: events/s from Kafka to readable in Redis (feature-ingest + feature-store as separate
//      processes) vs a bare kafkajs consumer draining the same topic; target >= 50% of bare and >= 30,000/s
//   2. freshness p99 (event time -> readable in Redis) at 5,000 events/s; target < 250 ms
//   3. GetOnlineFeatures p99 for 1 entity x 10 features (< 2 ms, at 500 calls/s) and 100 entities
//      (< 10 ms, at 100 calls/s), open loop, beside bare Redis HMGET at the same shape and rate; the
//      closed-loop maximum of each is printed first
// A warm-up first runs BENCH_WARMUP_EVENTS (default: as many as the ingest measures) through the
// pipeline on topics of its own, so a broker started just before is measured after its JIT has
// compiled its hot paths.
// Run: node --conditions=@loopline/source --import tsx bench/features.bench.ts  (stack up: make up)
// The services run from src/ through tsx. BENCH_DIST=1 builds them and runs dist/ as `make up` does:
// tsx compiles with esbuild's keepNames (a defineProperty per closure created), but on this bench
// the two measured the same within noise (84 vs 87 µs CPU/event for feature-ingest).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Client as GrpcClient, credentials } from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Kafka, logLevel } from "kafkajs"; // the bare baseline deliberately bypasses the kit
import { createRedis, serviceNodeFlags, silentLogger } from "@loopline/kit";
import { createClient } from "@loopline/proto";
import { FeatureStore, GetOnlineFeaturesRequestSchema, GetOnlineFeaturesResponseSchema } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { isolateStack, type IsolatedStack } from "@loopline/testkit";
import { scrapeHistogram } from "./histogram.js";
import { openLoopLatencies, quantileOf } from "./open-loop.js";

const EVENTS = Number(process.env["BENCH_FEATURE_EVENTS"] ?? 200_000);
// Events run through the whole pipeline, on topics of their own, before anything is measured (0: none).
const WARMUP_EVENTS = Number(process.env["BENCH_WARMUP_EVENTS"] ?? EVENTS);
const CARDS = 10_000;
const root = fileURLToPath(new URL("..", import.meta.url));
const results: { name: string; loopline: number; baseline?: number; unit: string; ratio?: number; target: string; ok: boolean }[] = [];
const log = (msg: string) => console.log(msg);

const s = await isolateStack(undefined);
// The services' environment for one isolated stack: its topics, groups and Redis prefixes.
const stackEnv = (st: IsolatedStack): Record<string, string> => ({
  LOOPLINE_KAFKA_BROKERS: st.endpoints.kafkaBrokers.join(","),
  LOOPLINE_REDIS_URL: st.endpoints.redisUrl,
  LOOPLINE_TOPIC_PREFIX: st.topicPrefix,
  LOOPLINE_FEATURE_INGEST_STATE_PREFIX: st.redisPrefix,
  LOOPLINE_FEATURE_STORE_KEY_PREFIX: st.redisPrefix,
  LOOPLINE_FEATURE_INGEST_GROUP: `${st.topicPrefix}ingest`,
  LOOPLINE_FEATURE_STORE_GROUP: `${st.topicPrefix}store`,
});
const env = {
  ...process.env,
  ...stackEnv(s),
  LOOPLINE_FEATURE_INGEST_ADMIN_PORT: "0",
  LOOPLINE_FEATURE_STORE_ADMIN_PORT: "19402",
  LOOPLINE_FEATURE_STORE_GRPC_PORT: "0",
  LOOPLINE_FEATURE_STORE_GRPC_HOST: "127.0.0.1",
  LOOPLINE_FEATURE_STORE_GRPC_PORT_FILE: "",
  LOOPLINE_LOG_LEVEL: process.env["BENCH_SERVICE_LOG_LEVEL"] ?? "warn",
};
const fromSource = process.env["BENCH_DIST"] !== "1";
if (!fromSource) {
  const tsc = `${root}node_modules/typescript/bin/tsc`;
  const build = spawnSync(process.execPath, [tsc, "--build", "services/feature-ingest", "services/feature-store"], { cwd: root, stdio: "inherit" });
  if (build.status !== 0) throw new Error("tsc --build of feature-ingest and feature-store failed; fix it or run without BENCH_DIST=1");
}
const children: ChildProcess[] = [];
// CPU time (user + system, ms) a process has used so far, from /proc: wall-clock rates swing with the
// machine's other load, CPU per event does not, so every figure is reported both ways.
const TICK_MS = 10; // Linux USER_HZ is 100 (getconf CLK_TCK)
const cpuMs = (child: ChildProcess | number | undefined): number => {
  try {
    const pid = typeof child === "number" || child === undefined ? child : child.pid;
    if (pid === undefined) return Number.NaN;
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime: fields 14 and 15
  } catch {
    return Number.NaN; // not on Linux, or the process is gone
  }
};
// The servers' CPU too, to show where all of an event's cost goes: Redis from INFO (its own count,
// wherever it runs), the Kafka broker from /proc when infra/local started it (its pid file).
const kafkaPid = (() => {
  try {
    return Number(readFileSync(`${root}.loopline/kafka/kafka.pid`, "utf8").trim()) || undefined;
  } catch {
    return undefined;
  }
})();
const redisCpuMs = async (client: ReturnType<typeof createRedis>): Promise<number> => {
  const info = await client.info("cpu");
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  return (user + sys) * 1000;
};
const cpuNote = (label: string, ms: number, n: number, unit: string) => `${label} ${((ms * 1000) / n).toFixed(1)} µs CPU/${unit}`;
const startService = (name: string, extra: Record<string, string> = {}) => {
  // BENCH_PROFILE=dir writes a V8 CPU profile of each service process there (for hot-path work).
  const prof = process.env["BENCH_PROFILE"] ? ["--cpu-prof", `--cpu-prof-dir=${process.env["BENCH_PROFILE"]}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
  const entry = fromSource ? ["--conditions=@loopline/source", "--import", "tsx", `${root}services/${name}/src/main.ts`] : ["--enable-source-maps", `${root}services/${name}/dist/main.js`];
  // BENCH_SERVICE_NODE_OPTIONS (e.g. --trace-gc) goes to the service processes only.
  const nodeOptions = process.env["BENCH_SERVICE_NODE_OPTIONS"]?.split(" ").filter((o) => o !== "") ?? [];
  const child = spawn(process.execPath, [...serviceNodeFlags(`${root}services/${name}`), ...nodeOptions, ...prof, ...entry], {
    env: { ...env, ...extra },
    stdio: ["ignore", process.env["BENCH_SERVICE_LOG_LEVEL"] ? "inherit" : "ignore", "inherit"], // service logs go to stdout
  });
  children.push(child);
  child.once("exit", (code, signal) => {
    if (!stopping) log(`!! ${name} (pid ${child.pid}) exited during the run: code ${code}, signal ${signal}`);
  });
  return child;
};
let stopping = false;
// Never leave service processes behind, whatever ends this run.
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
const stopAll = async () => {
  stopping = true;
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue; // already gone: no exit event will come
    c.kill("SIGTERM");
    await new Promise((r) => c.once("exit", r));
  }
  stopping = false;
};

/** Creates a stack's pipeline topics: events and features with 3 partitions each, and their DLQs. */
const createPipelineTopics = (st: IsolatedStack) =>
  st.kafka.ensureTopics([
    { topic: `${st.topicPrefix}events`, partitions: 3 },
    { topic: `${st.topicPrefix}events.dlq`, partitions: 1 },
    { topic: `${st.topicPrefix}features`, partitions: 3 },
    { topic: `${st.topicPrefix}features.dlq`, partitions: 1 },
  ]);
const eventsTopic = `${s.topicPrefix}events`;
await createPipelineTopics(s);

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

type Producer = Awaited<ReturnType<IsolatedStack["kafka"]["createProducer"]>>;
/** Produces events `from` to `to` (exclusive) to a topic in batches, event times 10 ms apart from `t`. */
async function produceEvents(via: Producer, topic: string, from: number, to: number, t: number): Promise<void> {
  for (let i = from; i < to; i += 5000) {
    const batch = [];
    for (let j = i; j < Math.min(i + 5000, to); j++) batch.push(eventJson(j, t + (j - from) * 10));
    await via.send(topic, batch);
  }
}
const producer = await s.kafka.createProducer();

// ---- 0. warm-up ----------------------------------------------------------------------------
// A broker that has just started spends its first seconds of load compiling its produce and fetch
// paths (the JVM's C1/C2 threads: about 5 s of CPU during a 200,000-event run right after
// `make up`), on the same 2 cores as the pipeline. A broker in service has long done that, so the
// whole pipeline runs once on topics of its own first: measured on 2026-12-05 right after a start,
// the broker's CPU per event was 30-32 µs without it, 21-22 µs after 100,000 events, 17 µs after
// 200,000 (13-15 µs in a second run). The services measured below start afresh: their own warm-up
// stays in the figures.
if (WARMUP_EVENTS > 0) {
  const w = await isolateStack(undefined);
  const started = performance.now();
  await createPipelineTopics(w);
  log(`warm-up: ${WARMUP_EVENTS} events through the pipeline on topics of their own (BENCH_WARMUP_EVENTS=0 skips it)...`);
  // A producer of its own: kafkajs keeps asking for the metadata of every topic a producer has
  // written to, and these are deleted below.
  const warmProducer = await w.kafka.createProducer();
  await produceEvents(warmProducer, `${w.topicPrefix}events`, 0, WARMUP_EVENTS, Date.now() - WARMUP_EVENTS * 10 - 60_000);
  await warmProducer.close();
  startService("feature-store", stackEnv(w));
  startService("feature-ingest", stackEnv(w));
  while (!(await pipelineCaughtUp(w))) {
    await new Promise((r) => setTimeout(r, 100));
    if (performance.now() - started > 600_000) throw new Error("the warm-up did not finish in 10 minutes");
  }
  await stopAll();
  await w.cleanup();
  log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

// ---- 1. throughput -----------------------------------------------------------------------
log(`producing ${EVENTS} events over ${CARDS} cards...`);
// Recent event times: the store expires keys by max age, and the read phase must find them.
await produceEvents(producer, eventsTopic, 0, EVENTS, Date.now() - EVENTS * 10 - 60_000);

async function committedAll(st: IsolatedStack, group: string, topic: string): Promise<boolean> {
  const ends = await st.kafka.topicEndOffsets(topic);
  const committed = await st.kafka.groupOffsets(group, topic);
  return ends.every((e) => e.offset === "0" || committed.find((c) => c.partition === e.partition)?.offset === e.offset);
}
/** True once both services' groups have committed everything on a stack's topics. */
async function pipelineCaughtUp(st: IsolatedStack): Promise<boolean> {
  return (await committedAll(st, `${st.topicPrefix}ingest`, `${st.topicPrefix}events`)) && (await committedAll(st, `${st.topicPrefix}store`, `${st.topicPrefix}features`));
}

// The pipeline's two processes, kept for the freshness phase (CPU per event there too).
let storeProc: ChildProcess | undefined;
let ingestProc: ChildProcess | undefined;

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
  storeProc = startService("feature-store");
  ingestProc = startService("feature-ingest");
  let cpuAtBegin = { ingest: 0, store: 0, redis: 0, kafka: 0 };
  const redisInfo = createRedis({ url: s.endpoints.redisUrl, logger: silentLogger, mode: "background" });
  const committedSum = async (group: string, topic: string) => (await s.kafka.groupOffsets(group, topic)).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  let begin = 0;
  let atBegin = 0;
  for (;;) {
    if (begin === 0) {
      const n = await committedSum(`${s.topicPrefix}ingest`, eventsTopic);
      if (n > 0) {
        begin = performance.now();
        atBegin = n;
        cpuAtBegin = { ingest: cpuMs(ingestProc), store: cpuMs(storeProc), redis: await redisCpuMs(redisInfo), kafka: cpuMs(kafkaPid) };
      }
    } else if (await pipelineCaughtUp(s)) break;
    await new Promise((r) => setTimeout(r, 50));
    if (performance.now() - launched > 600_000) throw new Error("ingest did not finish in 10 minutes");
  }
  const secs = (performance.now() - begin) / 1000;
  const counted = EVENTS - atBegin;
  // The work itself, checked: every event must have become a stored feature update (a pipeline that
  // dead-letters or drops events would otherwise look fast).
  const storeMetrics = await (await fetch("http://127.0.0.1:19402/metrics")).text();
  const storedUpdates = Number(/^loopline_feature_store_updates_total\{[^}]*outcome="written"[^}]*\} (\d+)/m.exec(storeMetrics)?.[1] ?? 0);
  log(`  feature updates the store wrote: ${storedUpdates} (events produced: ${EVENTS})`);
  if (process.env["BENCH_DEBUG"]) log(storeMetrics.split("\n").filter((l) => !l.startsWith("#") && /updates|consum|lag|dead/.test(l)).join("\n"));
  const rate = counted / secs;
  const ingestCpu = cpuMs(ingestProc) - cpuAtBegin.ingest;
  const storeCpu = cpuMs(storeProc) - cpuAtBegin.store;
  const redisCpu = (await redisCpuMs(redisInfo)) - cpuAtBegin.redis;
  const kafkaCpu = cpuMs(kafkaPid) - cpuAtBegin.kafka; // NaN when the broker is not infra/local's
  redisInfo.disconnect();
  results.push({ name: "feature-ingest CPU per event (ingest phase)", loopline: (ingestCpu * 1000) / counted, unit: "µs", target: "informational", ok: true });
  results.push({ name: "feature-store CPU per event (ingest phase)", loopline: (storeCpu * 1000) / counted, unit: "µs", target: "informational", ok: true });
  log(`loopline ingest -> readable in Redis: ${rate.toFixed(0)} events/s (${counted} events in ${secs.toFixed(1)} s after the first committed batch)`);
  log(`  ${cpuNote("feature-ingest", ingestCpu, counted, "event")} (${((ingestCpu / 1000 / secs) * 100).toFixed(0)}% of a core), ${cpuNote("feature-store", storeCpu, counted, "event")} (${((storeCpu / 1000 / secs) * 100).toFixed(0)}% of a core)`);
  log(`  ${cpuNote("Redis", redisCpu, counted, "event")}, ${Number.isNaN(kafkaCpu) ? "Kafka broker: not infra/local's, not measured" : cpuNote("Kafka broker", kafkaCpu, counted, "event")} (the bench's own producer ran before the clock started)`);
  results.push({ name: "Redis CPU per event (ingest phase)", loopline: (redisCpu * 1000) / counted, unit: "µs", target: "informational", ok: true });
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
/** A histogram of the store's /metrics (cumulative count per upper bound), optionally one label set's. */
const storeHistogram = (metric: string, labels = "") => scrapeHistogram("http://127.0.0.1:19402/metrics", metric, labels);
const freshnessBuckets = () => storeHistogram("loopline_feature_store_freshness_seconds");
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
if (process.env["BENCH_SKIP_FRESHNESS"] !== "1") {
  const before = await freshnessBuckets();
  const cpuBefore = { ingest: ingestProc ? cpuMs(ingestProc) : NaN, store: storeProc ? cpuMs(storeProc) : NaN };
  const rate = 5000;
  const seconds = 20;
  log(`freshness: producing ${rate} events/s for ${seconds}s with event_time = now...`);
  let i = EVENTS;
  const start = Date.now();
  // p99 of each second's deliveries too: a tail concentrated in one second is a stall (GC, a
  // rebalance, the machine), one spread evenly is queueing in the pipeline itself.
  const perSecond: string[] = [];
  let previous = before;
  const sample = async () => {
    const now = await freshnessBuckets();
    perSecond.push((quantile(previous, now, 0.99) * 1000).toFixed(0));
    previous = now;
  };
  let sampling: Promise<void> = Promise.resolve();
  for (let tick = 0; tick < seconds * 20; tick++) {
    const due = start + tick * 50;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const batch = [];
    for (let j = 0; j < rate / 20; j++) batch.push(eventJson(i++, Date.now()));
    void producer.send(eventsTopic, batch);
    if (tick % 20 === 19) sampling = sampling.then(sample);
  }
  await new Promise((r) => setTimeout(r, 3000));
  await sampling;
  const after = await freshnessBuckets();
  log(`  p99 ms per second of the run: ${perSecond.join(" ")}`);
  const p50 = quantile(before, after, 0.5) * 1000;
  const p99 = quantile(before, after, 0.99) * 1000;
  log(`freshness at ${rate}/s: p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (from the store's histogram, interpolated within buckets)`);
  const sent = rate * seconds;
  const ingestCpu = (ingestProc ? cpuMs(ingestProc) : NaN) - cpuBefore.ingest;
  const storeCpu = (storeProc ? cpuMs(storeProc) : NaN) - cpuBefore.store;
  log(`  ${cpuNote("feature-ingest", ingestCpu, sent, "event")} (${((ingestCpu / 1000 / (seconds + 3)) * 100).toFixed(0)}% of a core), ${cpuNote("feature-store", storeCpu, sent, "event")} (${((storeCpu / 1000 / (seconds + 3)) * 100).toFixed(0)}% of a core)`);
  results.push({ name: `freshness p99 at ${rate} events/s`, loopline: p99, unit: "ms", target: "< 250 ms", ok: p99 < 250 });
}
await stopAll();

// ---- 3. GetOnlineFeatures latency -----------------------------------------------------------
{
  const store = startService("feature-store", { LOOPLINE_FEATURE_STORE_GRPC_PORT: "19951" });
  const client = createClient(FeatureStore, "127.0.0.1:19951", { timeoutMs: 5000 });
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

  const closedLoop = async (label: string, concurrency: number, n: number, call: (i: number) => Promise<unknown>, server?: ChildProcess) => {
    const lat: number[] = [];
    let next = 0;
    const cpuBefore = server ? cpuMs(server) : NaN;
    const clientCpuBefore = process.cpuUsage();
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
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const cpu = server ? `; ${cpuNote("feature-store", cpuMs(server) - cpuBefore, n, "call")}` : "";
    log(`${label}: ${(n / secs).toFixed(0)} calls/s at concurrency ${concurrency}, p50 ${pick(0.5).toFixed(3)} ms, p99 ${pick(0.99).toFixed(3)} ms${cpu}; bench client ${((clientCpu.user + clientCpu.system) / n).toFixed(1)} µs CPU/call`);
    return { p99: pick(0.99), rate: n / secs };
  };
  // Open loop (bench/open-loop.ts): no coordinated omission.
  const openLoop = async (label: string, rate: number, seconds: number, call: (i: number) => Promise<unknown>, server?: ChildProcess) => {
    const n = Math.round(rate * seconds);
    const cpuBefore = server ? cpuMs(server) : NaN;
    const handled = 'method="GetOnlineFeatures"';
    const serverBefore = server ? await storeHistogram("loopline_feature_store_grpc_seconds", handled) : undefined;
    const lat = await openLoopLatencies(rate, seconds, call);
    const pick = (q: number) => quantileOf(lat, q);
    const cpu = server ? `; ${cpuNote("feature-store", cpuMs(server) - cpuBefore, n, "call")}` : "";
    // The store's own handling time (its histogram: request decoded to answer built), to tell a tail
    // made inside the service from one made by transport, client or scheduling.
    const inside = serverBefore ? `; inside the store p99 ${(quantile(serverBefore, await storeHistogram("loopline_feature_store_grpc_seconds", handled), 0.99) * 1000).toFixed(2)} ms` : "";
    log(`${label}: open loop at ${rate} calls/s for ${seconds} s, p50 ${pick(0.5).toFixed(3)} ms, p99 ${pick(0.99).toFixed(3)} ms, max ${pick(1).toFixed(1)} ms${cpu}${inside}`);
    return { p99: pick(0.99) };
  };
  // The load generator sends pre-encoded requests and does not decode answers (as HMGET's baseline
  // client does no protobuf work either), so the client's own CPU on these 2 cores stays small;
  // one answer of each shape is decoded and checked below.
  const identity = (b: Buffer) => b;
  // A GetOnlineFeatures caller that sends and returns bytes, warmed up (JIT) on the given requests.
  const bytesClient = async (address: string, warmUp: readonly Buffer[]) => {
    const client = new GrpcClient(address, credentials.createInsecure(), { "grpc.max_receive_message_length": 64 << 20 });
    const call = (payload: Buffer) =>
      new Promise<Buffer>((resolve, reject) => client.makeUnaryRequest("/loopline.v1.FeatureStore/GetOnlineFeatures", identity, identity, payload, (err, res) => (err ? reject(err) : resolve(res as Buffer))));
    for (const payload of warmUp) await call(payload);
    return { call, close: () => client.close() };
  };
  const request = (entityIds: string[]) => Buffer.from(toBinary(GetOnlineFeaturesRequestSchema, create(GetOnlineFeaturesRequestSchema, { entityIds, features: refs })));
  const checkAnswer = async (entityIds: string[]) => {
    const answer = fromBinary(GetOnlineFeaturesResponseSchema, await rawCall(request(entityIds)));
    // Found: PRESENT, or OUTSIDE_MAX_AGE for the short windows (the ingest phase's event times are in the past).
    const found = answer.columns.flatMap((c) => c.statuses).filter((st) => st === FeatureStatus.PRESENT || st === FeatureStatus.OUTSIDE_MAX_AGE).length;
    if (answer.columns.length !== refs.length || found !== refs.length * entityIds.length) throw new Error(`GetOnlineFeatures found ${found}/${refs.length * entityIds.length} values: the ingest phase should have stored them`);
  };
  const onePayloads = Array.from({ length: 1000 }, (_, i) => request([`card-${i}`]));
  const raw = await bytesClient("127.0.0.1:19951", onePayloads);
  const rawCall = raw.call;
  await checkAnswer(["card-1"]);
  // The stated load for the latency targets is an open-loop rate well inside what this 2-core machine
  // sustains (the closed loops first print that maximum, with client, server and Redis sharing it).
  const conc = 4;
  const oneRate = Number(process.env["BENCH_READ_RATE_1"] ?? 500);
  const hundredRate = Number(process.env["BENCH_READ_RATE_100"] ?? 100);
  const readSeconds = 10;
  await closedLoop("GetOnlineFeatures 1x10 (maximum)", conc, 10_000, (i) => rawCall(onePayloads[i % 1000] as Buffer), store);
  await closedLoop("bare HMGET 1x10 (maximum)", conc, 10_000, (i) => redis.hmget(`${s.redisPrefix}bare:card-${i % 1000}`, ...refs));
  const one = await openLoop("GetOnlineFeatures 1x10", oneRate, readSeconds, (i) => rawCall(onePayloads[i % 1000] as Buffer), store);
  // The transport alone: a bare grpc-js server in its own process echoing the same request bytes,
  // driven by the same client at the same rate.
  const echoProc = spawn(process.execPath, ["--conditions=@loopline/source", "--import", "tsx", `${root}bench/grpc-echo-server.ts`, "/loopline.v1.FeatureStore/GetOnlineFeatures"], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(echoProc);
  const echoPort = await new Promise<string>((resolve) => echoProc.stdout?.once("data", (d: Buffer) => resolve(d.toString().trim())));
  const echo = await bytesClient(`127.0.0.1:${echoPort}`, onePayloads);
  const echoOne = await openLoop("bare grpc-js echo, same requests", oneRate, readSeconds, (i) => echo.call(onePayloads[i % 1000] as Buffer));
  echo.close();
  echoProc.kill("SIGTERM");
  const bareOne = await openLoop("bare HMGET 1x10", oneRate, readSeconds, (i) => redis.hmget(`${s.redisPrefix}bare:card-${i % 1000}`, ...refs));
  results.push({ name: `GetOnlineFeatures p99, 1 entity x 10 features, ${oneRate} calls/s`, loopline: one.p99, baseline: bareOne.p99, unit: "ms", ratio: one.p99 / bareOne.p99, target: "< 2 ms", ok: one.p99 < 2 });
  results.push({ name: `bare grpc-js echo p99 at ${oneRate} calls/s (the transport's own tail)`, loopline: echoOne.p99, unit: "ms", target: "informational", ok: true });
  const ids = (i: number) => Array.from({ length: 100 }, (_, k) => `card-${(i * 100 + k) % CARDS}`);
  const hundredPayloads = Array.from({ length: 100 }, (_, i) => request(ids(i)));
  await checkAnswer(ids(0));
  const bareHundredCall = async (i: number) => {
    const p = redis.pipeline();
    for (let k = 0; k < 100; k++) p.hmget(`${s.redisPrefix}bare:card-${(i * 100 + k) % 1000}`, ...refs);
    await p.exec();
  };
  await closedLoop("GetOnlineFeatures 100x10 (maximum)", conc, 2000, (i) => rawCall(hundredPayloads[i % 100] as Buffer), store);
  await closedLoop("bare pipelined HMGET 100x10 (maximum)", conc, 2000, bareHundredCall);
  const hundred = await openLoop("GetOnlineFeatures 100x10", hundredRate, readSeconds, (i) => rawCall(hundredPayloads[i % 100] as Buffer), store);
  const bareHundred = await openLoop("bare pipelined HMGET 100x10", hundredRate, readSeconds, bareHundredCall);
  results.push({ name: `GetOnlineFeatures p99, 100 entities x 10 features, ${hundredRate} calls/s`, loopline: hundred.p99, baseline: bareHundred.p99, unit: "ms", ratio: hundred.p99 / bareHundred.p99, target: "< 10 ms", ok: hundred.p99 < 10 });
  client.close();
  raw.close();
  redis.disconnect();
}
await stopAll();
await producer.close();
await s.cleanup();
console.log(JSON.stringify({ bench: "features", results }));
process.exit(0);
