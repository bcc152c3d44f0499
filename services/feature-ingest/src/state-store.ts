import type { EntitySnapshot, FeatureView } from "@loopline/features";
import { UnavailableError, describeError, type Logger, type RedisClient } from "@loopline/kit";
import { emptyPartitionState, type PartitionState } from "./processor.js";

/**
 * Window state lives in Redis, one hash per (view, partition): `fi:{view}:{partition}` with a field
 * per entity (its engine snapshot as JSON) and `__fingerprint` (the view definition it belongs to).
 *
 * Why Redis: the state must outlive the process and follow a partition to whichever instance owns it
 * next, and the stack already runs Redis. Why per partition: Kafka assigns partitions, and entities
 * never change partition (records are keyed by entity id), so a new owner loads exactly its slice.
 *
 * A batch's touched entities are saved after its updates are published and before its offsets are
 * committed. After a crash the batch is read again: events already in the saved state are known by
 * event id and skipped; events that were not are recomputed into the very same (asOf, revision)
 * updates, which the store ignores as not newer. So no event is ever counted twice.
 */
const FINGERPRINT = "__fingerprint";

/** Options of createStateStore. */
export interface StateStoreOptions {
  redis: RedisClient;
  logger: Logger;
}

/** Loads and saves per-partition engine state. */
export interface StateStore {
  /** Rebuilds a partition's engines from Redis (empty when nothing is stored or the view changed). */
  load(partition: number, views: readonly FeatureView[]): Promise<PartitionState>;
  /** Saves the given entities' snapshots and deletes the evicted ones. */
  save(state: PartitionState, touched: ReadonlyMap<string, ReadonlySet<string>>, evicted?: ReadonlyMap<string, readonly string[]>): Promise<void>;
}

const keyOf = (view: string, partition: number) => `fi:${view}:${partition}`;

/** Creates the Redis-backed state store. */
export function createStateStore(options: StateStoreOptions): StateStore {
  const { redis, logger } = options;
  const wrap = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      throw new UnavailableError("redis", `${what}: ${describeError(err).message}`, { cause: err });
    }
  };
  return {
    load: (partition, views) =>
      wrap("loading window state", async () => {
        const state = emptyPartitionState(partition, views);
        for (const view of views) {
          const key = keyOf(view.name, partition);
          const hash = await redis.hgetall(key);
          const fingerprint = hash[FINGERPRINT];
          delete hash[FINGERPRINT];
          const count = Object.keys(hash).length;
          if (count === 0) continue;
          if (fingerprint !== view.fingerprint) {
            logger.warn("stored window state belongs to another definition of the view; starting empty (replay to rebuild)", { view: view.name, partition, stored: fingerprint, current: view.fingerprint });
            await redis.del(key);
            continue;
          }
          const entities = Object.values(hash).map((json) => JSON.parse(json) as EntitySnapshot);
          state.engines.get(view.name)?.restore({ format: 1, view: view.name, fingerprint: view.fingerprint, entities });
          logger.info("window state restored", { view: view.name, partition, entities: count });
        }
        return state;
      }),
    save: (state, touched, evicted) =>
      wrap("saving window state", async () => {
        const pipeline = redis.pipeline();
        let ops = 0;
        for (const [viewName, ids] of touched) {
          const engine = state.engines.get(viewName);
          if (engine === undefined || ids.size === 0) continue;
          // Hot path (every batch): guarded by bench/features.bench.ts (ingest events/s). snapshotJson
          // reuses each retained event's JSON from earlier checkpoints instead of re-serialising it.
          const fields = new Map<string, string>([[FINGERPRINT, engine.view.fingerprint]]);
          for (const id of ids) {
            const json = engine.snapshotJson(id);
            if (json !== undefined) fields.set(id, json);
          }
          pipeline.hset(keyOf(viewName, state.partition), fields);
          ops++;
        }
        for (const [viewName, ids] of evicted ?? []) {
          if (ids.length > 0) {
            pipeline.hdel(keyOf(viewName, state.partition), ...ids);
            ops++;
          }
        }
        if (ops === 0) return;
        const results = (await pipeline.exec()) ?? [];
        const failed = results.find(([err]) => err !== null);
        if (failed !== undefined) throw failed[0] as Error;
      }),
  };
}
