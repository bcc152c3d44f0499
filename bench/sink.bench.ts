// Issue 6's figure, measured against a baseline in the same run:
//   predictions/s from Kafka into ClickHouse by clickhouse-sink (a separate process, from a topic
//   filled beforehand), vs the kit's bare insertRows of the very same rows into a copy of the table
//   (no Kafka, no decoding: ClickHouse's own JSONEachRow ceiling on this machine). Target >= 50,000/s.
// Run: node --conditions=@loopline/source --import tsx bench/sink.bench.ts  (stack up: make up)
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { fraudV1FeatureSet } from "@loopline/features";
import { execute, insertRows, queryRows } from "@loopline/kit";
import { toFeatureValue } from "@loopline/proto";
import { PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { isolateStack } from "@loopline/testkit";

const N = Number(process.env["BENCH_SINK_PREDICTIONS"] ?? 300_000);
const PARTITIONS = 3;
const root = fileURLToPath(new URL("..", import.meta.url));
const log = (msg: string) => console.log(msg);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

// --- clickhouse-sink as its own process, draining the filled topic.
const child = spawn(process.execPath, ["--conditions=@loopline/source", "--import", "tsx", `${root}services/clickhouse-sink/src/main.ts`], {
  env: {
    ...process.env,
    LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(","),
    LOOPLINE_CLICKHOUSE_URL: s.endpoints.clickhouseUrl,
    LOOPLINE_CLICKHOUSE_DATABASE: s.database,
    LOOPLINE_TOPIC_PREFIX: s.topicPrefix,
    LOOPLINE_SINK_TOPICS: "predictions",
    LOOPLINE_SINK_GROUP: `${s.topicPrefix}sink`,
    LOOPLINE_SINK_ADMIN_PORT: "19407",
    LOOPLINE_LOG_LEVEL: "warn",
  },
  stdio: ["ignore", "ignore", "inherit"],
});
const inserted = async (): Promise<number> => {
  try {
    const text = await (await fetch("http://127.0.0.1:19407/metrics")).text();
    const m = /loopline_sink_rows_inserted_total\{[^}]*table="predictions"[^}]*\} (\d+)/.exec(text);
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
};
const spawnedAt = performance.now();
let first = 0;
let firstAt = 0;
while ((first = await inserted()) === 0) await sleep(20);
firstAt = performance.now();
let last = first;
while ((last = await inserted()) < N) {
  if (performance.now() - firstAt > 300_000) throw new Error(`sink stalled at ${last}/${N}`);
  await sleep(20);
}
const doneAt = performance.now();
const metricsText = await (await fetch("http://127.0.0.1:19407/metrics")).text();
const metric = (name: string) => Number(new RegExp(`${name}\\{[^}]*table="predictions"[^}]*\\} ([0-9.e+-]+)`).exec(metricsText)?.[1] ?? Number.NaN);
const insertSecs = metric("loopline_sink_insert_seconds_sum");
const inserts = metric("loopline_sink_insert_seconds_count");
child.kill("SIGTERM");
await new Promise((r) => child.once("exit", r));
const sinkRate = (last - first) / ((doneAt - firstAt) / 1000);
const distinct = Number((await queryRows<{ n: string }>(s.clickhouse, "SELECT count() AS n FROM predictions_dedup"))[0]?.n);
log(`sink: ${inserts} INSERTs of ${Math.round(N / inserts)} rows on average, ${insertSecs.toFixed(2)} s inside INSERTs`);
log(`sink: first rows ${((firstAt - spawnedAt) / 1000).toFixed(1)} s after spawn; ${last - first} rows in ${((doneAt - firstAt) / 1000).toFixed(2)} s; predictions_dedup holds ${distinct}`);

// --- Baseline: the same rows, already built, inserted with the kit's insertRows in 50,000-row INSERTs.
const rows = await queryRows<Record<string, unknown>>(s.clickhouse, "SELECT * FROM predictions");
await execute(s.clickhouse, `CREATE TABLE predictions_baseline AS predictions`);
const baseStart = performance.now();
for (let i = 0; i < rows.length; i += 50_000) await insertRows(s.clickhouse, "predictions_baseline", rows.slice(i, i + 50_000));
const baseRate = rows.length / ((performance.now() - baseStart) / 1000);
await s.cleanup();

const ok = sinkRate >= 50_000 && distinct === N;
const results = [
  { name: "sink predictions/s Kafka -> ClickHouse", loopline: Math.round(sinkRate), baseline: Math.round(baseRate), unit: "rows/s", ratio: Number((sinkRate / baseRate).toFixed(3)), target: ">= 50,000 rows/s", ok },
];
log("");
log("| measurement | clickhouse-sink | bare insertRows | ratio | target | ok |");
log("|---|---|---|---|---|---|");
for (const r of results) log(`| ${r.name} | ${r.loopline.toLocaleString("en")} ${r.unit} | ${r.baseline.toLocaleString("en")} ${r.unit} | ${r.ratio} | ${r.target} | ${r.ok ? "yes" : "NO"} |`);
console.log(JSON.stringify({ bench: "sink", results }));
process.exit(0);
