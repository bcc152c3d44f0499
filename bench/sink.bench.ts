// Issue 6's figure, measured against a baseline in the same run:
//   predictions/s from Kafka into ClickHouse by clickhouse-sink (a separate process, from a topic
//   filled beforehand), vs the kit's bare insertEncoded of the very same rows as RowBinary (the format
//   the sink sends) in 50,000-row INSERTs into a copy of the table (no Kafka, no decoding, bodies made
//   by ClickHouse itself: the server's own ceiling on this machine). Target >= 50,000/s. Also printed:
//   the kit's bare insertRows (JSONEachRow) of the same rows, the sink's format before RowBinary, and
//   CPU time per row of the sink process and of clickhouse-server, which, unlike rows/s, does not
//   swing with the load other users put on a shared machine.
// Run: node --conditions=@loopline/source --import tsx bench/sink.bench.ts  (stack up: make up)
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { fraudV1FeatureSet } from "@loopline/features";
import { execute, insertEncoded, insertRows, queryRows } from "@loopline/kit";
import { toFeatureValue } from "@loopline/proto";
import { PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { isolateStack } from "@loopline/testkit";

const N = Number(process.env["BENCH_SINK_PREDICTIONS"] ?? 300_000);
const PARTITIONS = 3;
const root = fileURLToPath(new URL("..", import.meta.url));
const log = (msg: string) => console.log(msg);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// CPU seconds (user + system) a process has used, from /proc/<pid>/stat: unlike rows/s on a shared
// 2-core machine, CPU per row does not move with the neighbours' load.
const CLOCK_TICKS = 100;
const cpuSeconds = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
  } catch {
    return Number.NaN;
  }
};
const pidsNamed = (comm: string): number[] => {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, "latin1").trim() === comm) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
};
const clickhousePids = pidsNamed("clickhouse-serv");
const clickhouseCpu = () => clickhousePids.reduce((a, p) => a + cpuSeconds(p), 0);
const perRowUs = (cpu: number, rows: number) => ((cpu / rows) * 1e6).toFixed(1);

const s = await isolateStack(undefined, { migrate: true });
const topic = `${s.topicPrefix}predictions`;
await s.kafka.ensureTopics([{ topic, partitions: PARTITIONS }]);

// The fraud demo's record: the 13 inputs of feature set fraud_v1, a two-class probability output.
const refs = [...fraudV1FeatureSet.features];
const t0 = Date.UTC(2026, 4, 1);
let seed = 42;
const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
log(`encoding ${N} predictions ...`);
const values: Buffer[] = [];
for (let i = 0; i < N; i++) {
  const score = rnd();
  values.push(
    Buffer.from(
      toBinary(
        PredictionRecordSchema,
        create(PredictionRecordSchema, {
          requestId: `req-${i.toString(36)}-${Math.floor(rnd() * 1e9).toString(36)}`,
          timeMs: BigInt(t0 + i * 10),
          model: "fraud",
          modelVersion: i % 10 === 0 ? "4" : "3",
          route: i % 10 === 0 ? Route.CANARY : Route.PRODUCTION,
          entityId: `card-${Math.floor(rnd() * 50_000)}`,
          featureRefs: refs,
          featureValues: refs.map(() => toFeatureValue(Math.round(rnd() * 100_000) / 100)),
          featureStatuses: refs.map(() => FeatureStatus.PRESENT),
          score,
          decision: score >= 0.5,
          outputs: [{ name: "probabilities", values: [1 - score, score] }],
          latencyUs: 500 + Math.floor(rnd() * 3000),
        }),
      ),
    ),
  );
}
const bytes = values.reduce((a, v) => a + v.length, 0);
log(`producing ${N} records (${(bytes / N).toFixed(0)} bytes each) to ${PARTITIONS} partitions ...`);
const producer = await s.kafka.createProducer();
for (let i = 0; i < N; i += 3_000) {
  await producer.send(topic, values.slice(i, i + 3_000).map((value, j) => ({ value, partition: (i + j) % PARTITIONS })));
}
await producer.close();

// --- clickhouse-sink as its own process, draining the filled topic. Its admin port is a free one, not
// a fixed one: a demo or another bench may be running a sink on this machine too.
const adminPort = await new Promise<number>((resolve, reject) => {
  const srv = createServer().once("error", reject);
  srv.listen(0, "127.0.0.1", () => {
    const { port } = srv.address() as { port: number };
    srv.close(() => resolve(port));
  });
});
const metricsUrl = `http://127.0.0.1:${adminPort}/metrics`;
const child = spawn(process.execPath, ["--conditions=@loopline/source", "--import", "tsx", `${root}services/clickhouse-sink/src/main.ts`], {
  env: {
    ...process.env,
    LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(","),
    LOOPLINE_CLICKHOUSE_URL: s.endpoints.clickhouseUrl,
    LOOPLINE_CLICKHOUSE_DATABASE: s.database,
    LOOPLINE_TOPIC_PREFIX: s.topicPrefix,
    LOOPLINE_SINK_TOPICS: "predictions",
    LOOPLINE_SINK_GROUP: `${s.topicPrefix}sink`,
    LOOPLINE_SINK_ADMIN_PORT: String(adminPort),
    LOOPLINE_LOG_LEVEL: "warn",
  },
  stdio: ["ignore", "pipe", "inherit"],
});
// Its log lines (warn and up) are kept, and printed only if it exits before the end.
let sinkLog = "";
child.stdout?.on("data", (chunk: Buffer) => {
  sinkLog = (sinkLog + chunk.toString("utf8")).slice(-20_000);
});
const inserted = async (): Promise<number> => {
  try {
    const text = await (await fetch(metricsUrl)).text();
    const m = /loopline_sink_rows_inserted_total\{[^}]*table="predictions"[^}]*\} (\d+)/.exec(text);
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
};
let exited: number | string | null | undefined;
child.once("exit", (code, signal) => (exited = code ?? signal));
const spawnedAt = performance.now();
let first = 0;
let firstAt = 0;
// Polled every 100 ms, not faster: each scrape costs the sink CPU (prom-client reads process stats).
while ((first = await inserted()) === 0) {
  if (exited !== undefined) throw new Error(`the sink exited (${exited}) before its first INSERT; its last log lines:\n${sinkLog}`);
  await sleep(100);
}
firstAt = performance.now();
const sinkCpu0 = cpuSeconds(child.pid ?? 0);
const chCpu0 = clickhouseCpu();
let last = first;
while ((last = await inserted()) < N) {
  if (exited !== undefined) throw new Error(`the sink exited (${exited}) at ${last}/${N}; its last log lines:\n${sinkLog}`);
  if (performance.now() - firstAt > 300_000) throw new Error(`sink stalled at ${last}/${N}`);
  await sleep(100);
}
const doneAt = performance.now();
const sinkCpu = cpuSeconds(child.pid ?? 0) - sinkCpu0;
const chCpu = clickhouseCpu() - chCpu0;
const metricsText = await (await fetch(metricsUrl)).text();
const metric = (name: string) => Number(new RegExp(`${name}\\{[^}]*table="predictions"[^}]*\\} ([0-9.e+-]+)`).exec(metricsText)?.[1] ?? Number.NaN);
const insertSecs = metric("loopline_sink_insert_seconds_sum");
const inserts = metric("loopline_sink_insert_seconds_count");
child.kill("SIGTERM");
await new Promise((r) => child.once("exit", r));
const sinkRate = (last - first) / ((doneAt - firstAt) / 1000);
const distinct = Number((await queryRows<{ n: string }>(s.clickhouse, "SELECT count() AS n FROM predictions_dedup"))[0]?.n);
log(`sink: ${inserts} INSERTs of ${Math.round(N / inserts)} rows on average, ${insertSecs.toFixed(2)} s inside INSERTs`);
log(`sink: CPU ${perRowUs(sinkCpu, last - first)} µs/row in the sink process, ${perRowUs(chCpu, last - first)} µs/row in clickhouse-server (${clickhousePids.length} process(es), shared with anyone else using it)`);
log(`sink: first rows ${((firstAt - spawnedAt) / 1000).toFixed(1)} s after spawn; ${last - first} rows in ${((doneAt - firstAt) / 1000).toFixed(2)} s; predictions_dedup holds ${distinct}`);

// --- Baselines: the same rows inserted bare in 50,000-row INSERTs, as RowBinary and as JSONEachRow.
const BASE_ROWS = 50_000;
const columns = (await queryRows<{ name: string }>(s.clickhouse, "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'predictions'")).map((c) => c.name);
const bodies: Buffer[] = [];
for (let i = 0; i < N; i += BASE_ROWS) {
  // ClickHouse encodes the rows itself, so the baseline's bodies owe nothing to the sink's encoder.
  const result = await s.clickhouse.exec({ query: `SELECT * FROM predictions ORDER BY source_partition, source_offset LIMIT ${i}, ${BASE_ROWS} FORMAT RowBinary` });
  const chunks: Buffer[] = [];
  for await (const chunk of result.stream) chunks.push(chunk as Buffer);
  bodies.push(Buffer.concat(chunks));
}
const jsonRows = await queryRows<Record<string, unknown>>(s.clickhouse, "SELECT * FROM predictions");
const bare = async (name: string, insert: (table: string) => Promise<void>) => {
  const table = `predictions_${name}`;
  await execute(s.clickhouse, `CREATE TABLE ${table} AS predictions`);
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const ch0 = clickhouseCpu();
  await insert(table);
  const rate = N / ((performance.now() - start) / 1000);
  const cpu = process.cpuUsage(cpu0);
  const ch = clickhouseCpu() - ch0;
  log(`bare ${name}: ${Math.round(rate)} rows/s; CPU ${perRowUs((cpu.user + cpu.system) / 1e6, N)} µs/row in the client, ${perRowUs(ch, N)} µs/row in clickhouse-server`);
  return rate;
};
const baseRate = await bare("rowbinary", async (table) => {
  for (const body of bodies) await insertEncoded(s.clickhouse, table, columns, "RowBinary", body);
});
const jsonRate = await bare("jsoneachrow", async (table) => {
  for (let i = 0; i < jsonRows.length; i += BASE_ROWS) await insertRows(s.clickhouse, table, jsonRows.slice(i, i + BASE_ROWS));
});
await s.cleanup();

const ok = sinkRate >= 50_000 && distinct === N;
const results = [
  { name: "sink predictions/s Kafka -> ClickHouse", loopline: Math.round(sinkRate), baseline: Math.round(baseRate), unit: "rows/s", ratio: Number((sinkRate / baseRate).toFixed(3)), target: ">= 50,000 rows/s", ok },
];
log(`sink / bare JSONEachRow insertRows (${Math.round(jsonRate).toLocaleString("en")} rows/s): ${(sinkRate / jsonRate).toFixed(3)}`);
log("");
log("| measurement | clickhouse-sink | bare insertEncoded (RowBinary) | ratio | target | ok |");
log("|---|---|---|---|---|---|");
for (const r of results) log(`| ${r.name} | ${r.loopline.toLocaleString("en")} ${r.unit} | ${r.baseline.toLocaleString("en")} ${r.unit} | ${r.ratio} | ${r.target} | ${r.ok ? "yes" : "NO"} |`);
console.log(JSON.stringify({ bench: "sink", results }));
process.exit(0);
