import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { applyMigrations, createClickHouse, type OutgoingRecord } from "@loopline/kit";
import { toFeatureValue } from "@loopline/proto";
import { PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { freePort, isolateStack, MIGRATIONS_DIR, startPrivateClickHouse, type IsolatedStack } from "@loopline/testkit";
import { count, sinkEnv, waitForCommitted } from "./test-helpers.js";

// Integration: the sink as a real process, killed mid-batch, and running through a ClickHouse outage.

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const T0 = Date.UTC(2026, 5, 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startSink(s: IsolatedStack, clickhouseUrl: string, extra: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ["--conditions=@loopline/source", "--import", "tsx", MAIN], {
    env: {
      ...process.env,
      ...sinkEnv({ prefix: s.topicPrefix, database: s.database, clickhouseUrl, brokers: s.endpoints.kafkaBrokers, extra: { LOOPLINE_SINK_TOPICS: "predictions,labels", ...extra } }),
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

function predictions(from: number, to: number): OutgoingRecord[] {
  const out: OutgoingRecord[] = [];
  for (let i = from; i < to; i++) {
    const value = toBinary(
      PredictionRecordSchema,
      create(PredictionRecordSchema, {
        requestId: `req-${i}`,
        timeMs: BigInt(T0 + i * 1000),
        model: "fraud",
        modelVersion: "1",
        route: Route.PRODUCTION,
        entityId: `card-${i % 97}`,
        featureRefs: ["card_txn:amount_sum_1h", "card_txn:txn_count_1h"],
        featureValues: [toFeatureValue(i / 10), toFeatureValue(i % 7)],
        score: (i % 100) / 100,
        decision: i % 100 >= 50,
      }),
    );
    out.push({ key: `card-${i % 97}`, value: Buffer.from(value) });
  }
  return out;
}

async function sendAll(s: IsolatedStack, topic: string, records: OutgoingRecord[]): Promise<void> {
  const producer = await s.kafka.createProducer();
  try {
    for (let i = 0; i < records.length; i += 1000) await producer.send(topic, records.slice(i, i + 1000));
  } finally {
    await producer.close();
  }
}

async function committedSum(s: IsolatedStack, group: string, topic: string): Promise<number> {
  return (await s.kafka.groupOffsets(group, topic)).reduce((a, c) => a + Math.max(0, Number(c.offset)), 0);
}

const exited = (c: ChildProcess) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once("exit", r)));

test("SIGKILL between an INSERT and its commit, then a restart: every record once in the dedup views", async (t) => {
  const s = await isolateStack(t, { migrate: true });
  const group = `${s.topicPrefix}sink`;
  const predictionsTopic = `${s.topicPrefix}predictions`;
  const labelsTopic = `${s.topicPrefix}labels`;
  await s.kafka.ensureTopics([
    { topic: predictionsTopic, partitions: 3 },
    { topic: labelsTopic, partitions: 3 },
  ]);
  const N = 30_000;
  const L = 3_000;
  await sendAll(s, predictionsTopic, predictions(0, N));
  // Labels in JSON without label_id: their ids are derived, so the redelivered copies share them.
  await sendAll(
    s,
    labelsTopic,
    Array.from({ length: L }, (_, i) => ({ key: `card-${i % 97}`, value: JSON.stringify({ request_id: `req-${i * 10}`, label: i % 5 === 0 ? 1 : 0 }) })),
  );

  // Small INSERTs so the backlog takes many; catch the process stopped with rows in ClickHouse whose
  // offsets are not committed yet (inserted, commit pending), and kill it right there.
  let child = startSink(s, s.endpoints.clickhouseUrl, { LOOPLINE_SINK_BATCH_ROWS: "1000", LOOPLINE_SINK_FETCH_BYTES_PER_PARTITION: "65536", LOOPLINE_SINK_CONSUMERS: "1" });
  t.after(() => void child.kill("SIGKILL"));
  let caught = false;
  const deadline = Date.now() + 60_000;
  while (!caught && Date.now() < deadline) {
    await sleep(20 + Math.random() * 40);
    child.kill("SIGSTOP");
    await sleep(100); // let an INSERT already sent finish server-side
    const inserted = await count(s.clickhouse, "SELECT count() AS n FROM predictions");
    const committed = await committedSum(s, group, predictionsTopic);
    if (inserted > committed && inserted < N) {
      child.kill("SIGKILL");
      caught = true;
    } else {
      child.kill("SIGCONT");
    }
  }
  assert.ok(caught, "the sink was caught with inserted but uncommitted rows");
  await exited(child);
  const insertedAtKill = await count(s.clickhouse, "SELECT count() AS n FROM predictions");
  const committedAtKill = await committedSum(s, group, predictionsTopic);
  assert.ok(insertedAtKill > committedAtKill, `${insertedAtKill} rows inserted, ${committedAtKill} committed`);

  child = startSink(s, s.endpoints.clickhouseUrl);
  await waitForCommitted(s.kafka, group, [predictionsTopic, labelsTopic], 120_000);

  // Raw rows may hold the copies re-inserted after the restart (unless a merge already collapsed them).
  assert.ok((await count(s.clickhouse, "SELECT count() AS n FROM predictions")) >= N);
  assert.equal(await count(s.clickhouse, "SELECT count() AS n FROM predictions_dedup"), N);
  assert.equal(await count(s.clickhouse, "SELECT uniqExact(request_id) AS n FROM predictions_dedup"), N);
  // Every request id 0..N-1 is there: the sum of i over 0..N-1 is N(N-1)/2.
  assert.equal(await count(s.clickhouse, "SELECT sum(toUInt64(substring(request_id, 5))) AS n FROM predictions_dedup"), (N * (N - 1)) / 2);
  assert.equal(await count(s.clickhouse, "SELECT count() AS n FROM labels_dedup"), L);
  assert.equal(await count(s.clickhouse, "SELECT count() AS n FROM labelled_predictions"), L);
  assert.equal(await count(s.clickhouse, "SELECT sum(label) AS n FROM labelled_predictions"), L / 5);
  child.kill("SIGTERM");
  await exited(child);
});

test("ClickHouse killed and restarted mid-stream: the sink waits, never crashes, loses nothing", async (t) => {
  const s = await isolateStack(t);
  const ch = await startPrivateClickHouse(t);
  const admin = createClickHouse({ url: ch.url });
  t.after(() => admin.close());
  await applyMigrations({ client: admin, database: s.database, dir: MIGRATIONS_DIR, logger: s.logger });
  const db = createClickHouse({ url: ch.url, database: s.database });
  t.after(() => db.close());
  const group = `${s.topicPrefix}sink`;
  const topic = `${s.topicPrefix}predictions`;
  await s.kafka.ensureTopics([{ topic, partitions: 3 }]);
  const adminPort = await freePort();
  const child = startSink(s, ch.url, { LOOPLINE_SINK_ADMIN_PORT: String(adminPort), LOOPLINE_SINK_TOPICS: "predictions" });
  t.after(() => void child.kill("SIGKILL"));
  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    return [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, "gm"))].reduce((a, m) => a + Number(m[1]), 0);
  };

  const chunk = 2_000;
  await sendAll(s, topic, predictions(0, chunk));
  await waitForCommitted(s.kafka, group, [topic], 60_000);
  assert.equal(await count(db, "SELECT count() AS n FROM predictions"), chunk);

  await ch.kill();
  await sendAll(s, topic, predictions(chunk, 3 * chunk));
  await sleep(4000); // the sink keeps trying: every INSERT fails, nothing may be committed
  assert.equal(child.exitCode, null, "the sink is still running");
  assert.equal(await committedSum(s, group, topic), chunk, "no offset committed while ClickHouse is away");
  assert.ok((await metric("loopline_sink_insert_errors_total")) > 0, "failed INSERTs are counted");
  const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
  assert.equal(ready.status, 503, "not ready while ClickHouse is away");

  await ch.start();
  await sendAll(s, topic, predictions(3 * chunk, 4 * chunk));
  await waitForCommitted(s.kafka, group, [topic], 90_000);
  assert.equal(await count(db, "SELECT count() AS n FROM predictions_dedup"), 4 * chunk);
  assert.equal(await count(db, "SELECT uniqExact(request_id) AS n FROM predictions_dedup"), 4 * chunk);
  assert.equal(child.exitCode, null, "the sink is still running");
  child.kill("SIGTERM");
  await exited(child);
  assert.equal(child.exitCode, 0, "clean exit on SIGTERM");
});
