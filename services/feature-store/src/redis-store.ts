import { UnavailableError, describeError, type RedisClient } from "@loopline/kit";
import { decodeStored, encodeStored, type StoredUpdate } from "./stored-update.js";

/**
 * Redis layout (all keys under the configured prefix):
 *   fs:{view}:{entityId}   string "<asOf>|<revision>|<producedAt>|<FeatureUpdate protobuf>" — the newest version
 *                          (stored-update.ts has the layout)
 *   fsh:{view}:{entityId}  sorted set, score asOf, member = the same string — bounded history for as-of reads
 * Both expire at asOf + the view's longest max age + the expiry grace. Until then a value older
 * than a feature's max age is served as OUTSIDE_MAX_AGE; after it, NOT_FOUND.
 */

// Compare-and-set in one script so concurrent writers (the stream and WriteFeatures) cannot
// interleave a read and a write. KEYS: the current and history key of each (view, entity), in
// pairs. ARGV: the history length, then per pair its expiry, its version count n and n versions
// (asOf, revision, payload) in ascending order — every version of the key in the batch, so as-of
// history keeps them all while the current value is replaced once, by the newest. Only versions
// strictly newer than the stored one count. Returns how many were accepted.
// Many pairs per call spare the per-command cost in Redis and in ioredis; a call holds Redis for
// its duration, so the caller bounds the pairs per call (PAIRS_PER_CALL).
const PUT_IF_NEWER = `
local call = redis.call
local find = string.find
local sub = string.sub
local num = tonumber
local keep = -(num(ARGV[1]) + 1)
local p = 2
local written = 0
for k = 1, #KEYS, 2 do
  -- Only the version prefix: a GET would copy the whole value into Lua to read two numbers.
  local cur = call('GETRANGE', KEYS[k], 0, 63)
  local a = -1
  local r = -1
  if cur ~= '' then
    local s1 = find(cur, '|', 1, true)
    local s2 = find(cur, '|', s1 + 1, true)
    a = num(sub(cur, 1, s1 - 1))
    r = num(sub(cur, s1 + 1, s2 - 1))
  end
  local expireAt = ARGV[p]
  local n = num(ARGV[p + 1])
  p = p + 2
  local zargs = nil
  local newest = nil
  local count = 0
  for j = 1, n do
    local na = num(ARGV[p])
    local nr = num(ARGV[p + 1])
    if na > a or (na == a and nr > r) then
      a = na
      r = nr
      newest = ARGV[p + 2]
      if count == 0 then
        zargs = { ARGV[p], newest }
      else
        zargs[#zargs + 1] = ARGV[p]
        zargs[#zargs + 1] = newest
      end
      count = count + 1
    end
    p = p + 3
  end
  if newest ~= nil then
    call('SET', KEYS[k], newest, 'PXAT', expireAt)
    call('ZADD', KEYS[k + 1], unpack(zargs))
    call('ZREMRANGEBYRANK', KEYS[k + 1], 0, keep)
    call('PEXPIREAT', KEYS[k + 1], expireAt)
    written = written + count
  end
end
return written
`;

/** (view, entity) pairs per script call: about a millisecond of Redis time, so reads never wait long behind a write. */
const PAIRS_PER_CALL = 64;

type PutIfNewer = (numberOfKeys: number, ...args: (string | number | Buffer)[]) => Promise<number>;

/** The current and history keys of a (view, entity). */
export function storeKeys(view: string, entityId: string): { current: string; history: string } {
  return { current: `fs:${view}:${entityId}`, history: `fsh:${view}:${entityId}` };
}

/** An update to store, with the expiry its view implies. */
export interface PendingWrite {
  view: string;
  entityId: string;
  /** The version: epoch ms the values are as of, and the tie-break for equal asOf. */
  asOf: number;
  revision: number;
  /** The stored value (stored-update.ts): the version and the FeatureUpdate bytes. */
  value: Buffer;
  /** Epoch ms at which both keys expire. */
  expireAt: number;
}

/** A write of plain values (WriteFeatures, tests): encodes them as the stream path stores them. */
export function writeOf(view: string, entityId: string, update: StoredUpdate, expireAt: number): PendingWrite {
  return { view, entityId, asOf: update.asOf, revision: update.revision, value: encodeStored(update), expireAt };
}

/** Result of a batch write. */
export interface WriteOutcome {
  /** Versions accepted (strictly newer than what was stored before them). */
  written: number;
  /** Versions not stored because an equal or newer version was already there. */
  stale: number;
}

/** Groups writes by (view, entity), each group sorted by ascending (asOf, revision). */
export function groupByKey(writes: readonly PendingWrite[]): Map<string, PendingWrite[]> {
  const out = new Map<string, PendingWrite[]>();
  for (const w of writes) {
    const key = storeKeys(w.view, w.entityId).current;
    let g = out.get(key);
    if (g === undefined) out.set(key, (g = []));
    g.push(w);
  }
  for (const g of out.values()) g.sort((x, y) => x.asOf - y.asOf || x.revision - y.revision);
  return out;
}

/** Options of createRedisFeatureStore. */
export interface RedisFeatureStoreOptions {
  /** Client for writes (the materialiser: background mode with retries). */
  writer: RedisClient;
  /** Client for reads (request mode: fail fast so callers answer UNAVAILABLE). */
  reader: RedisClient;
  /** Versions kept per (view, entity) for as-of reads. */
  historyLength: number;
}

/** Newer-wins storage of feature updates in Redis and the reads GetOnlineFeatures needs. */
export interface RedisFeatureStore {
  /** Writes a batch: one atomic compare-and-set per key carrying all its versions in order, pipelined. */
  write(writes: readonly PendingWrite[]): Promise<WriteOutcome>;
  /** The newest stored version of each (view, entity) pair, in order. */
  readLatest(pairs: readonly { view: string; entityId: string }[]): Promise<(StoredUpdate | undefined)[]>;
  /** The version that was newest at `at` for each pair (from the bounded history). */
  readAsOf(pairs: readonly { view: string; entityId: string }[], at: number): Promise<(StoredUpdate | undefined)[]>;
}

const unavailable = (err: unknown) => new UnavailableError("redis", describeError(err).message, { cause: err });

/** Creates the store over two ioredis clients. */
export function createRedisFeatureStore(options: RedisFeatureStoreOptions): RedisFeatureStore {
  const { writer, reader, historyLength } = options;
  writer.defineCommand("loopPutIfNewer", { lua: PUT_IF_NEWER }); // key count given per call

  return {
    write: async (writes) => {
      if (writes.length === 0) return { written: 0, stale: 0 };
      const byKey = groupByKey(writes);
      const pipeline = writer.pipeline();
      const put = (pipeline as unknown as { loopPutIfNewer: PutIfNewer }).loopPutIfNewer.bind(pipeline);
      const groups = [...byKey.values()];
      for (let from = 0; from < groups.length; from += PAIRS_PER_CALL) {
        const keys: string[] = [];
        const args: (string | number | Buffer)[] = [historyLength];
        for (const group of groups.slice(from, from + PAIRS_PER_CALL)) {
          const k = storeKeys(group[0]?.view ?? "", group[0]?.entityId ?? "");
          keys.push(k.current, k.history);
          let expireAt = 0;
          for (const w of group) expireAt = Math.max(expireAt, w.expireAt);
          args.push(expireAt, group.length);
          for (const w of group) args.push(w.asOf, w.revision, w.value);
        }
        void put(keys.length, ...keys, ...args);
      }
      let results: [Error | null, unknown][] | null;
      try {
        results = await pipeline.exec();
      } catch (err) {
        throw unavailable(err);
      }
      let written = 0;
      for (const [err, value] of results ?? []) {
        if (err !== null) throw unavailable(err);
        written += Number(value);
      }
      return { written, stale: writes.length - written };
    },
    readLatest: async (pairs) => {
      if (pairs.length === 0) return [];
      try {
        // Buffers: the stored values are binary (protobuf after the version prefix).
        const raw = await reader.mgetBuffer(pairs.map((p) => storeKeys(p.view, p.entityId).current));
        return raw.map((r) => decodeStored(r));
      } catch (err) {
        throw unavailable(err);
      }
    },
    readAsOf: async (pairs, at) => {
      if (pairs.length === 0) return [];
      const pipeline = reader.pipeline();
      for (const p of pairs) pipeline.zrevrangebyscoreBuffer(storeKeys(p.view, p.entityId).history, at, "-inf", "LIMIT", 0, 1);
      try {
        const results = (await pipeline.exec()) ?? [];
        return results.map(([err, members]) => {
          if (err !== null) throw unavailable(err);
          return decodeStored((members as Buffer[])[0]);
        });
      } catch (err) {
        throw err instanceof UnavailableError ? err : unavailable(err);
      }
    },
  };
}
