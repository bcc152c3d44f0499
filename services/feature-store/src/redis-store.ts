import { UnavailableError, describeError, type Metrics, type RedisClient } from "@loopline/kit";
import { decodeStored, encodeStored, type StoredUpdate } from "./stored-update.js";

/**
 * Redis layout (all keys under the configured prefix):
 *   fsl:{view}:{entityId}  list of versions, oldest first, each "<asOf>|<revision>|<producedAt>|<FeatureUpdate
 *                          protobuf>" (stored-update.ts has the layout): the last element is the newest
 *                          version, the others the bounded history for as-of reads
 * The list expires at asOf + the view's longest max age + the expiry grace. Until then a value older
 * than a feature's max age is served as OUTSIDE_MAX_AGE; after it, NOT_FOUND. (Up to 2026-11 the
 * newest version and the history were two keys, fs: and fsh:, each holding every value; one list
 * stores each version once and costs Redis about a third less per update.)
 */

// Compare-and-set in one script so concurrent writers (the stream and WriteFeatures) cannot
// interleave a read and a write. KEYS: the list of each (view, entity). ARGV: the history length,
// then per key its lifetime (ms after the newest version's asOf before it may be deleted: the view's
// longest max age plus the expiry grace), its version count n and its n values in ascending version
// order (each value starts with its version, "<asOf>|<revision>|"). Versions strictly newer than the
// list's last one are appended, in order, so the list stays sorted and its last element is the
// newest; the rest are stale. Returns how many were appended.
// Many keys per call spare the per-command cost in Redis and in ioredis; a call holds Redis for its
// duration, so the caller bounds the keys per call (PAIRS_PER_CALL).
// Two commands are spared on most writes (without PEXPIREAT alone, the features bench's Redis CPU
// per event fell by about a tenth):
// - The list may grow an eighth past the history before it is trimmed back (reads look at the last
//   `history` versions only), so LTRIM runs once per history/8 writes instead of on every one.
// - The expiry is the newest asOf + lifetime rounded up to a step of lifetime/8 (1 s to 1 h), so it
//   changes, and PEXPIREAT runs, only when a write moves the newest asOf into a later step. A key
//   whose expiry was set otherwise keeps it until such a write: after a change of max age or grace,
//   or when written by a Loopline before 2026-12-04 (which set asOf + lifetime exactly, so at most
//   a step early).
const PUT_IF_NEWER = `
local call = redis.call
local find = string.find
local sub = string.sub
local num = tonumber
local floor = math.floor
local keep = num(ARGV[1])
local trimAt = keep + math.max(1, floor(keep / 8))
-- The (asOf, revision) a stored value starts with.
local function version(v)
  local s1 = find(v, '|', 1, true)
  local s2 = find(v, '|', s1 + 1, true)
  return num(sub(v, 1, s1 - 1)), num(sub(v, s1 + 1, s2 - 1))
end
-- When a list whose newest version is as of a may expire: strictly after a + life, the same for
-- every a within one step.
local function expiry(a, life)
  local step = math.min(3600000, math.max(1000, floor(life / 8)))
  return (floor((a + life) / step) + 1) * step
end
local p = 2
local written = 0
for k = 1, #KEYS do
  local key = KEYS[k]
  local cur = call('LINDEX', key, -1)
  local a = -1
  local r = -1
  if cur then a, r = version(cur) end
  local before = a
  local life = num(ARGV[p])
  local n = num(ARGV[p + 1])
  p = p + 2
  local count = 0
  local length = 0
  for j = 1, n do
    local v = ARGV[p]
    local na, nr = version(v)
    if na > a or (na == a and nr > r) then
      a = na
      r = nr
      length = call('RPUSH', key, v)
      count = count + 1
    end
    p = p + 1
  end
  if count > 0 then
    if length > trimAt then call('LTRIM', key, -keep, -1) end
    local at = expiry(a, life)
    if not cur or expiry(before, life) ~= at then call('PEXPIREAT', key, string.format('%.0f', at)) end
    written = written + count
  end
end
return written
`;

// The newest version of each key (nil for none), in key order.
const READ_LATEST = `
local out = {}
for i = 1, #KEYS do out[i] = redis.call('LINDEX', KEYS[i], -1) end
return out
`;

// The newest version of each key with asOf <= ARGV[1] (nil for none) among its last ARGV[2] (the
// history length; the list may hold a few more until it is trimmed): the list is sorted, so the
// first such version from the end.
const READ_AS_OF = `
local at = tonumber(ARGV[1])
local keep = tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS do
  local versions = redis.call('LRANGE', KEYS[i], -keep, -1)
  local found = false
  for j = #versions, 1, -1 do
    local v = versions[j]
    if tonumber(string.sub(v, 1, string.find(v, '|', 1, true) - 1)) <= at then
      found = v
      break
    end
  end
  out[i] = found
end
return out
`;

/** (view, entity) pairs per script call: about a millisecond of Redis time, so reads never wait long behind a write. */
const PAIRS_PER_CALL = 64;

type PutIfNewer = (numberOfKeys: number, ...args: (string | number | Buffer)[]) => Promise<number>;
type ReadScript = (numberOfKeys: number, ...args: (string | number)[]) => Promise<(Buffer | null)[]>;

/** The key of a (view, entity): its list of versions. */
export function storeKey(view: string, entityId: string): string {
  return `fsl:${view}:${entityId}`;
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
  /**
   * Epoch ms before which the key must not expire. Redis deletes it up to an eighth of
   * `expireAt - asOf` (at most an hour) later: the expiry moves in steps (see PUT_IF_NEWER).
   */
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
    const key = storeKey(w.view, w.entityId);
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
  /** Where the read latency histogram goes (loopline_feature_store_redis_read_seconds). */
  metrics?: Metrics;
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
  reader.defineCommand("loopReadLatest", { lua: READ_LATEST });
  reader.defineCommand("loopReadAsOf", { lua: READ_AS_OF });
  // The Buffer variants ioredis defines beside each script: stored values are binary.
  const readers = reader as unknown as { loopReadLatestBuffer: ReadScript; loopReadAsOfBuffer: ReadScript };
  const readSeconds = options.metrics?.histogram("loopline_feature_store_redis_read_seconds", "Redis read latency of GetOnlineFeatures (one script call per request), by kind", ["kind"]);
  // One script call, timed (failures too: a timeout is a latency worth seeing), its Redis errors as UNAVAILABLE.
  const read = async (kind: "latest" | "as_of", call: () => Promise<(Buffer | null)[]>): Promise<(StoredUpdate | undefined)[]> => {
    const started = performance.now();
    try {
      return (await call()).map((r) => decodeStored(r));
    } catch (err) {
      throw unavailable(err);
    } finally {
      readSeconds?.observe({ kind }, (performance.now() - started) / 1000);
    }
  };

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
          keys.push(storeKey(group[0]?.view ?? "", group[0]?.entityId ?? ""));
          // The lifetime after the newest version's asOf (a view's max age is the same for all).
          let life = 0;
          for (const w of group) life = Math.max(life, w.expireAt - w.asOf);
          args.push(life, group.length);
          for (const w of group) args.push(w.value);
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
      return read("latest", () => readers.loopReadLatestBuffer(pairs.length, ...pairs.map((p) => storeKey(p.view, p.entityId))));
    },
    readAsOf: async (pairs, at) => {
      if (pairs.length === 0) return [];
      return read("as_of", () => readers.loopReadAsOfBuffer(pairs.length, ...pairs.map((p) => storeKey(p.view, p.entityId)), at, historyLength));
    },
  };
}
