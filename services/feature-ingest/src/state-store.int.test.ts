import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { builtinRegistry, createEventValidator } from "@loopline/features";
import { createRedis, silentLogger, type ConsumedRecord } from "@loopline/kit";
import { isolateStack } from "@loopline/testkit";
import { emptyPartitionState, processBatch, type PartitionState } from "./processor.js";
import { createStateStore } from "./state-store.js";

// Integration: the real Redis. The saved state (base + journal, across folds and evictions)
// must load back into exactly the engine state the stream built.

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const views = builtinRegistry.views;
const validator = createEventValidator({ views, maxEventBytes: 2048, maxClockSkew: 60_000, now: () => NOW });

function batchOf(from: number, n: number): ConsumedRecord[] {
  return Array.from({ length: n }, (_, k) => {
    // Every 11th record redelivers the one before it.
    const i = (from + k) % 11 === 10 ? from + k - 1 : from + k;
    const card = `c${(i * 7) % 13}`;
    // Out of order within the allowed lateness (5m).
    const time = NOW - 3_600_000 + i * 20_000 - (i % 4) * 60_000;
    const id = `e${i}`;
    const value = JSON.stringify({ event_id: id, entity: "card", entity_id: card, event_time: time, type: "transaction", fields: { amount: (i * 37) % 500, merchant_category: ["5411", "5812"][i % 2], country: ["US", "FR", "DE"][i % 3], channel: ["pos", "ecom"][i % 2] } });
    return { topic: "t", partition: 0, offset: String(from + k), key: Buffer.from(card), value: Buffer.from(value), headers: {}, timestamp: NOW };
  });
}

/** A client of a fresh key prefix on the real Redis, closed after the test. */
async function isolatedRedis(t: TestContext) {
  const s = await isolateStack(t);
  const redis = createRedis({ url: s.endpoints.redisUrl, logger: silentLogger, keyPrefix: s.redisPrefix, mode: "background" });
  t.after(() => redis.disconnect());
  return redis;
}

const snapshotOf = (state: PartitionState) =>
  Object.fromEntries([...state.engines].map(([name, engine]) => [name, [...engine.snapshot().entities].sort((a, b) => (a.entityId < b.entityId ? -1 : 1))]));

test("window state saved as journal and folded base loads back exactly", async (t) => {
  const redis = await isolatedRedis(t);
  // A fold every 25 journaled events: the 7 batches below fold several times and end with a journal tail.
  const store = createStateStore({ redis, logger: silentLogger, foldEvents: 25 });
  const live = await store.load(0, views);
  assert.equal(live.engines.get("card_txn")?.entityCount, 0);
  let duplicates = 0;
  for (let b = 0; b < 7; b++) {
    const out = processBatch(batchOf(b * 9, 9), live, views, validator);
    duplicates += out.duplicates;
    await store.save(live, out.accepted);
  }
  assert.ok(duplicates > 0, "the stream has redeliveries, which the restored state must know by id");
  const journal = await redis.lrange("fij:card_txn:0", 0, -1);
  assert.ok(journal.length > 0 && journal.length < 7, `a journal tail after folds (${journal.length} elements)`);
  assert.deepEqual(snapshotOf(await store.load(0, views)), snapshotOf(live));

  // A reloaded state carries on exactly as the live one: same updates for the next batch.
  const reloaded = await store.load(0, views);
  const next = batchOf(63, 9);
  const liveNext = processBatch(next, live, views, validator);
  assert.deepEqual(processBatch(next, reloaded, views, validator).updates, liveNext.updates);
  await store.save(live, liveNext.accepted);

});

/** Transactions of `cards` cards (c0, c1, ...), `perCard` each, `minutes` apart, from `start`. */
function cardsAt(cards: number, perCard: number, start: number, idPrefix: string): ConsumedRecord[] {
  const out: ConsumedRecord[] = [];
  for (let k = 0; k < perCard; k++) {
    for (let c = 0; c < cards; c++) {
      const id = `${idPrefix}-${c}-${k}`;
      const value = JSON.stringify({ event_id: id, entity: "card", entity_id: `c${c}`, event_time: start + k * 60_000 + c, type: "transaction", fields: { amount: 10 + c, merchant_category: "5411", country: "FR", channel: "pos" } });
      out.push({ topic: "t", partition: 0, offset: "0", key: Buffer.from(`c${c}`), value: Buffer.from(value), headers: {}, timestamp: NOW });
    }
  }
  return out;
}

test("entities idle past every window and the lateness leave the state when a fold ends, in memory and in Redis alike", async (t) => {
  const redis = await isolatedRedis(t);
  const store = createStateStore({ redis, logger: silentLogger, foldEvents: 20 });
  const live = await store.load(0, views);
  const engine = live.engines.get("card_txn");
  const DAY = 86_400_000;
  // Ten cards nine days ago, then only c0..c3, now: c4..c9 are idle past card_txn's 7 d window and
  // 5 min lateness once the new events arrive (the reference: which cards the stream left idle).
  const old = cardsAt(10, 3, NOW - 9 * DAY, "old");
  const recent = cardsAt(4, 12, NOW - 3_600_000, "new");
  const batches = [old.slice(0, 15), old.slice(15), ...Array.from({ length: 6 }, (_, b) => recent.slice(b * 8, b * 8 + 8))];
  for (const [b, batch] of batches.entries()) {
    await store.save(live, processBatch(batch, live, views, validator).accepted);
    assert.deepEqual(snapshotOf(await store.load(0, views)), snapshotOf(live), `after batch ${b}`);
  }
  assert.deepEqual([...(engine?.entityIds() ?? [])].sort(), ["c0", "c1", "c2", "c3"], "the idle cards were evicted");
  assert.deepEqual((await redis.hkeys("fi:card_txn:0")).filter((k) => k !== "__fingerprint").sort(), ["c0", "c1", "c2", "c3"]);
});

test("a fold writes the base a slice per batch and trims the journal once done; a load at any batch is the stream's state", async (t) => {
  const redis = await isolatedRedis(t);
  // Folds start every 25 journaled events; the 13 cards are all touched before the first one, so a
  // fold snapshots 13 entities at 13/25 per event: at most ceil(13 * 9 / 25) = 5 per 9-event batch.
  const store = createStateStore({ redis, logger: silentLogger, foldEvents: 25 });
  const live = await store.load(0, views);
  const baseSizes: number[] = [];
  const journalLengths: number[] = [];
  for (let b = 0; b < 16; b++) {
    const out = processBatch(batchOf(b * 9, 9), live, views, validator);
    await store.save(live, out.accepted);
    baseSizes.push((await redis.hlen("fi:card_txn:0")) - 1); // less the fingerprint
    journalLengths.push(await redis.llen("fij:card_txn:0"));
    // Mid-fold or not, what is stored loads back into the live state: watermark, revision and
    // retained events (the ids dedup needs) of every entity.
    assert.deepEqual(snapshotOf(await store.load(0, views)), snapshotOf(live), `after batch ${b}`);
  }
  const growth = baseSizes.map((n, i) => n - (baseSizes[i - 1] ?? 0));
  assert.equal(baseSizes.at(-1), 13, `every entity reaches the base (base sizes ${baseSizes.join(" ")})`);
  assert.ok(Math.max(...growth) <= 5, `the base grows a slice per batch, never all at once (${growth.join(" ")})`);
  assert.ok(growth.filter((g) => g > 0).length >= 3, `the first fold spans several batches (${growth.join(" ")})`);
  const trims = journalLengths.filter((n, i) => i > 0 && n < (journalLengths[i - 1] as number)).length;
  assert.ok(trims >= 2, `folds end by trimming the journal (lengths ${journalLengths.join(" ")})`);
  assert.ok(Math.max(...journalLengths) <= 8, `the journal stays bounded (lengths ${journalLengths.join(" ")})`);
});

test("state of another view definition is dropped, journal and base alike", async (t) => {
  const redis = await isolatedRedis(t);
  const store = createStateStore({ redis, logger: silentLogger });
  const live = emptyPartitionState(0, views);
  await store.save(live, processBatch(batchOf(0, 9), live, views, validator).accepted);
  await redis.hset("fi:card_txn:0", "__fingerprint", "an-older-definition");
  const loaded = await store.load(0, views);
  assert.equal(loaded.engines.get("card_txn")?.entityCount, 0);
  assert.equal(await redis.exists("fi:card_txn:0", "fij:card_txn:0"), 0);
});
