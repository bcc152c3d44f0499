import assert from "node:assert/strict";
import { test } from "node:test";
import { connectRedis, createMetrics, createRedis, silentLogger, type Metrics } from "@loopline/kit";
import { isolateStack } from "@loopline/testkit";
import { createRedisFeatureStore, storeKey, writeOf, type PendingWrite } from "./redis-store.js";

// Integration: the real Redis. Newer-wins must hold across batches, within a batch, and between
// concurrent writers, whatever the arrival order.

function seededShuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function storeFor(t: Parameters<typeof isolateStack>[0]) {
  return (await storeAndClient(t)).store;
}

/** The store over a fresh isolated prefix, and a client of that prefix to look at its keys. */
async function storeAndClient(t: Parameters<typeof isolateStack>[0], metrics?: Metrics) {
  const s = await isolateStack(t);
  const reader = createRedis({ url: s.endpoints.redisUrl, logger: silentLogger, keyPrefix: s.redisPrefix });
  const writer = createRedis({ url: s.endpoints.redisUrl, logger: silentLogger, keyPrefix: s.redisPrefix, mode: "background" });
  t?.after(async () => {
    reader.disconnect();
    writer.disconnect();
  });
  // The reader fails fast while not connected (no offline queue, as in the service): wait for it,
  // or a read right after the first write races the connection (seen once in CI under load).
  await connectRedis(reader);
  return { store: createRedisFeatureStore({ reader, writer, historyLength: 4, ...(metrics ? { metrics } : {}) }), redis: reader };
}

const FAR = Date.UTC(2100, 0, 1);
const w = (entityId: string, asOf: number, revision: number): PendingWrite => writeOf("card_txn", entityId, { asOf, revision, producedAt: asOf, values: { txn_count_10m: revision } }, FAR);

test("newer-wins over shuffled batches: the stored version is the newest ever written", async (t) => {
  const store = await storeFor(t);
  const all: PendingWrite[] = [];
  for (let e = 0; e < 20; e++) {
    // Versions (asOf, revision): asOf steps every 3 revisions, so equal asOf with rising revision occurs.
    for (let r = 1; r <= 12; r++) all.push(w(`card-${e}`, 1_000_000 + Math.floor(r / 3) * 1000, r));
  }
  const shuffled = seededShuffle(all, 42);
  for (let i = 0; i < shuffled.length; i += 17) await store.write(shuffled.slice(i, i + 17));
  const latest = await store.readLatest(Array.from({ length: 20 }, (_, e) => ({ view: "card_txn", entityId: `card-${e}` })));
  for (const u of latest) {
    assert.equal(u?.revision, 12);
    assert.equal(u?.asOf, 1_004_000);
    assert.equal(u?.values["txn_count_10m"], 12);
  }
});

test("a batch over many entities (several script calls) keeps newer-wins and the whole history per entity", async (t) => {
  const store = await storeFor(t);
  // 300 entities x 5 versions, shuffled, written in two batches: each batch spans several calls.
  const all: PendingWrite[] = [];
  for (let e = 0; e < 300; e++) for (let r = 1; r <= 5; r++) all.push(w(`big-${e}`, 2_000_000 + r * 1000, r));
  const shuffled = seededShuffle(all, 7);
  const first = await store.write(shuffled.slice(0, 900));
  const second = await store.write(shuffled.slice(900));
  // Per entity, a version is written iff it is newer than every version of that entity written before it.
  let expectedWritten = 0;
  const newest = new Map<string, number>();
  const written = new Map<string, number[]>();
  for (const batch of [shuffled.slice(0, 900), shuffled.slice(900)]) {
    const byEntity = new Map<string, number[]>();
    for (const x of batch) byEntity.set(x.entityId, [...(byEntity.get(x.entityId) ?? []), x.revision]);
    for (const [id, revs] of byEntity) {
      for (const r of revs.sort((a, b) => a - b)) {
        if (r > (newest.get(id) ?? 0)) {
          expectedWritten++;
          newest.set(id, r);
          written.set(id, [...(written.get(id) ?? []), r]);
        }
      }
    }
  }
  assert.equal(first.written + second.written, expectedWritten);
  assert.equal(first.written + first.stale + second.written + second.stale, 1500);
  const ids = Array.from({ length: 300 }, (_, e) => ({ view: "card_txn", entityId: `big-${e}` }));
  for (const u of await store.readLatest(ids)) assert.equal(u?.revision, 5);
  // As of version 2's time: the newest written version at or before it among the 4 the history keeps.
  const asOf = await store.readAsOf(ids, 2_002_000);
  ids.forEach(({ entityId }, i) => {
    const kept = (written.get(entityId) ?? []).slice(-4).filter((r) => r <= 2);
    assert.equal(asOf[i]?.revision, kept.length > 0 ? Math.max(...kept) : undefined, entityId);
  });
});

test("within one batch and between concurrent writers the newest wins", async (t) => {
  const store = await storeFor(t);
  const r = await store.write([w("c", 10, 1), w("c", 30, 3), w("c", 20, 2)]);
  assert.deepEqual(r, { written: 3, stale: 0 }, "every version of the batch is newer than what was stored");
  assert.equal((await store.readAsOf([{ view: "card_txn", entityId: "c" }], 25))[0]?.revision, 2, "history keeps the batch's middle version");
  assert.deepEqual(await store.write([w("c", 20, 9), w("c", 30, 3)]), { written: 0, stale: 2 });
  assert.equal((await store.readLatest([{ view: "card_txn", entityId: "c" }]))[0]?.revision, 3);
  // Equal version is not "newer": rewriting it changes nothing.
  assert.deepEqual(await store.write([w("c", 30, 3)]), { written: 0, stale: 1 });
  // Two writers race; whichever lands last, the newest version stays.
  const older = Array.from({ length: 50 }, (_, i) => w("d", 100 + i, i));
  const newer = Array.from({ length: 50 }, (_, i) => w("d", 200 + i, 100 + i));
  await Promise.all([...older.map((x) => store.write([x])), ...newer.map((x) => store.write([x]))]);
  const d = (await store.readLatest([{ view: "card_txn", entityId: "d" }]))[0];
  assert.deepEqual([d?.asOf, d?.revision], [249, 149]);
});

test("as-of reads return the version that was newest at that time, within the bounded history", async (t) => {
  const store = await storeFor(t);
  for (const [asOf, rev] of [[100, 1], [200, 2], [300, 3], [400, 4], [500, 5]] as const) await store.write([w("e", asOf, rev)]);
  const at = async (ts: number) => (await store.readAsOf([{ view: "card_txn", entityId: "e" }], ts))[0]?.revision;
  assert.equal(await at(250), 2);
  assert.equal(await at(300), 3, "inclusive of the as-of instant");
  assert.equal(await at(10_000), 5);
  // History keeps 4 versions: 200..500. As of 150 the only candidate (100) was trimmed.
  assert.equal(await at(150), undefined);
  assert.equal(await at(50), undefined);
});

test("a list grows at most an eighth (at least one) past the history before it is trimmed, and reads see the history only", async (t) => {
  const { store, redis } = await storeAndClient(t);
  const key = storeKey("card_txn", "h");
  const lengths: number[] = [];
  for (let r = 1; r <= 12; r++) {
    await store.write([w("h", r * 100, r)]);
    lengths.push(await redis.llen(key));
  }
  // History 4, slack max(1, 4/8) = 1: the list reaches 5, the next write trims it back to 4.
  assert.deepEqual(lengths, [1, 2, 3, 4, 5, 4, 5, 4, 5, 4, 5, 4]);
  const at = async (ts: number) => (await store.readAsOf([{ view: "card_txn", entityId: "h" }], ts))[0]?.revision;
  // The list holds versions 8..12 now; the history is the last 4 of them, 9..12.
  assert.equal(await at(850), undefined, "version 8 is still stored but outside the history");
  assert.equal(await at(950), 9);
  assert.equal(await at(100_000), 12);
});

test("the expiry is at least asOf + lifetime, at most a step later, and moves only when the newest asOf enters a later step", async (t) => {
  const { store, redis } = await storeAndClient(t);
  const key = storeKey("card_txn", "x");
  const DAY = 86_400_000;
  const HOUR = 3_600_000; // the step for a lifetime of a day: min(1 h, day / 8)
  const base = Math.ceil(Date.now() / HOUR) * HOUR; // a step boundary, ahead of the clock so nothing expires
  const at = (asOf: number, revision: number) => writeOf("card_txn", "x", { asOf, revision, producedAt: asOf, values: { txn_count_10m: revision } }, asOf + DAY);
  const expiry = async () => Number(await redis.call("PEXPIRETIME", key));

  await store.write([at(base + 10, 1)]);
  const first = await expiry();
  assert.ok(first > base + 10 + DAY && first <= base + 10 + DAY + HOUR, `expiry ${first - base - DAY} ms after asOf + a day's start`);
  assert.equal(first, base + DAY + HOUR, "the end of asOf + lifetime's step");

  await store.write([at(base + HOUR - 1, 2)]); // same step: no PEXPIREAT, and none is needed
  assert.equal(await expiry(), first);
  await store.write([at(base + 30, 3)]); // stale: nothing changes
  assert.equal(await expiry(), first);
  await store.write([at(base + HOUR, 4)]); // next step
  assert.equal(await expiry(), base + DAY + 2 * HOUR);
});

test("every read is timed in loopline_feature_store_redis_read_seconds by kind", async (t) => {
  const metrics = createMetrics({ service: "feature-store", defaultMetrics: false });
  const { store } = await storeAndClient(t, metrics);
  await store.write([w("m", 100, 1)]);
  const pair = [{ view: "card_txn", entityId: "m" }];
  await store.readLatest(pair);
  await store.readLatest(pair);
  await store.readAsOf(pair, 150);
  const text = await metrics.registry.metrics();
  const count = (kind: string) => Number(new RegExp(`loopline_feature_store_redis_read_seconds_count\\{[^}]*kind="${kind}"[^}]*\\} (\\d+)`).exec(text)?.[1]);
  assert.equal(count("latest"), 2);
  assert.equal(count("as_of"), 1);
});
