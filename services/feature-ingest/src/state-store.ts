import type { EntitySnapshot, Event, FeatureView } from "@loopline/features";
import { UnavailableError, describeError, type Logger, type RedisClient } from "@loopline/kit";
import { emptyPartitionState, type PartitionState } from "./processor.js";

/**
 * Window state lives in Redis, per (view, partition), in two keys:
 *   fi:{view}:{partition}   hash: a field per entity (its engine snapshot as JSON) and `__fingerprint`
 *                           (the view definition the state belongs to) — the base
 *   fij:{view}:{partition}  list: one element per batch since the base was written, the events the
 *                           view accepted in that batch (JSON) — the journal
 * The state is the base with the journal's events applied in order. Each batch appends one element
 * (its events, about 150 bytes each); every COMPACT_EVENTS journaled events, the snapshots of the
 * entities they touched are written to the base and the journal is emptied, in one MULTI. So a batch
 * costs what its events weigh, not what its entities' whole windows weigh.
 *
 * Why Redis: the state must outlive the process and follow a partition to whichever instance owns it
 * next, and the stack already runs Redis. Why per partition: Kafka assigns partitions, and entities
 * never change partition (records are keyed by entity id), so a new owner loads exactly its slice.
 *
 * A batch is journaled after its updates are published and before its offsets are committed. After a
 * crash the batch is read again: events already in the saved state are known by event id and skipped;
 * events that were not are recomputed into the very same (asOf, revision) updates, which the store
 * ignores as not newer. So no event is ever counted twice. Replaying a journal is exact because the
 * engine is deterministic: the same events in the same order give the same state.
 */
const FINGERPRINT = "__fingerprint";

/** Journaled events per (view, partition) before they are folded into the base. */
export const COMPACT_EVENTS = 50_000;

/** Options of createStateStore. */
export interface StateStoreOptions {
  redis: RedisClient;
  logger: Logger;
  /** Journaled events that trigger a compaction. Default COMPACT_EVENTS (tests use fewer). */
  compactEvents?: number;
}

/** Loads and saves per-partition engine state. */
export interface StateStore {
  /** Rebuilds a partition's engines from Redis (empty when nothing is stored or the view changed). */
  load(partition: number, views: readonly FeatureView[]): Promise<PartitionState>;
  /** Journals the events each view accepted in a batch (compacting when the journal is long). */
  save(state: PartitionState, accepted: ReadonlyMap<string, readonly Event[]>): Promise<void>;
  /** Writes the base of every view now and empties the journals, deleting the evicted entities' state. */
  compact(state: PartitionState, evicted?: ReadonlyMap<string, readonly string[]>): Promise<void>;
}

const baseKey = (view: string, partition: number) => `fi:${view}:${partition}`;
const journalKey = (view: string, partition: number) => `fij:${view}:${partition}`;

/** A journaled event: [entityId, eventId, eventTime, type, fields]; the entity is the view's. */
type JournalEvent = [string, string, number, string, Record<string, Event["fields"][string]>];

/** What was journaled per view since the last compaction of a partition. */
interface Journal {
  events: number;
  entities: Set<string>;
}

/** Creates the Redis-backed state store. */
export function createStateStore(options: StateStoreOptions): StateStore {
  const { redis, logger } = options;
  const compactEvents = options.compactEvents ?? COMPACT_EVENTS;
  const journals = new WeakMap<PartitionState, Map<string, Journal>>();
  const journalOf = (state: PartitionState, view: string): Journal => {
    let byView = journals.get(state);
    if (byView === undefined) journals.set(state, (byView = new Map()));
    let j = byView.get(view);
    if (j === undefined) byView.set(view, (j = { events: 0, entities: new Set() }));
    return j;
  };
  const wrap = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      throw new UnavailableError("redis", `${what}: ${describeError(err).message}`, { cause: err });
    }
  };
  // Runs a pipeline or MULTI; throws the first command's error, else returns the replies.
  const exec = async (pipeline: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<unknown[]> => {
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err !== null);
    if (failed !== undefined) throw failed[0] as Error;
    return results.map(([, reply]) => reply);
  };

  // Writes the given views' bases (their journaled entities, minus evicted ones) and empties their journals.
  const compactViews = async (state: PartitionState, viewNames: Iterable<string>, evicted?: ReadonlyMap<string, readonly string[]>) => {
    const started = performance.now();
    const multi = redis.multi();
    const done: Journal[] = [];
    for (const viewName of viewNames) {
      const engine = state.engines.get(viewName);
      if (engine === undefined) continue;
      const j = journalOf(state, viewName);
      const fields = new Map<string, string>([[FINGERPRINT, engine.view.fingerprint]]);
      for (const id of j.entities) {
        const json = engine.snapshotJson(id);
        if (json !== undefined) fields.set(id, json);
      }
      multi.hset(baseKey(viewName, state.partition), fields);
      const gone = evicted?.get(viewName) ?? [];
      if (gone.length > 0) multi.hdel(baseKey(viewName, state.partition), ...gone);
      multi.del(journalKey(viewName, state.partition));
      done.push(j);
    }
    if (done.length === 0) return;
    const built = performance.now();
    await exec(multi);
    logger.debug("window state compacted", { partition: state.partition, entities: done.reduce((n, j) => n + j.entities.size, 0), buildMs: Math.round(built - started), writeMs: Math.round(performance.now() - built) });
    for (const j of done) {
      j.events = 0;
      j.entities.clear();
    }
  };

  return {
    load: (partition, views) =>
      wrap("loading window state", async () => {
        const state = emptyPartitionState(partition, views);
        for (const view of views) {
          const key = baseKey(view.name, partition);
          const [hash, journal] = (await exec(redis.multi().hgetall(key).lrange(journalKey(view.name, partition), 0, -1))) as [Record<string, string>, string[]];
          const fingerprint = hash[FINGERPRINT];
          delete hash[FINGERPRINT];
          const count = Object.keys(hash).length;
          if (count === 0 && journal.length === 0) continue;
          if (fingerprint !== view.fingerprint) {
            logger.warn("stored window state belongs to another definition of the view; starting empty (replay to rebuild)", { view: view.name, partition, stored: fingerprint, current: view.fingerprint });
            await redis.del(key, journalKey(view.name, partition));
            continue;
          }
          const engine = state.engines.get(view.name);
          if (engine === undefined) continue;
          const entities = Object.values(hash).map((json) => JSON.parse(json) as EntitySnapshot);
          engine.restore({ format: 1, view: view.name, fingerprint: view.fingerprint, entities });
          // The journal's events, in the order they were first accepted: the state they built, again.
          const j = journalOf(state, view.name);
          let refused = 0;
          for (const element of journal) {
            for (const [entityId, eventId, eventTime, type, fields] of JSON.parse(element) as JournalEvent[]) {
              const r = engine.ingest({ entity: view.entity, entityId, eventId, eventTime, type, fields });
              if (!r.ok) refused++;
              j.events++;
              j.entities.add(entityId);
            }
          }
          if (refused > 0) logger.warn("journaled events refused on replay; the state may differ from the stream's", { view: view.name, partition, refused });
          logger.info("window state restored", { view: view.name, partition, entities: engine.entityCount, journaledEvents: j.events });
        }
        return state;
      }),
    save: (state, accepted) =>
      wrap("saving window state", async () => {
        // Hot path: guarded by bench/features.bench.ts (ingest events/s): one list element per view and batch.
        const multi = redis.multi(); // the fingerprint and the journal element together, or neither
        let ops = 0;
        const due: string[] = [];
        for (const [viewName, events] of accepted) {
          const engine = state.engines.get(viewName);
          if (engine === undefined || events.length === 0) continue;
          const j = journalOf(state, viewName);
          const rows: JournalEvent[] = new Array<JournalEvent>(events.length);
          for (let i = 0; i < events.length; i++) {
            const e = events[i] as Event;
            rows[i] = [e.entityId, e.eventId, e.eventTime, e.type, e.fields];
            j.entities.add(e.entityId);
          }
          // The fingerprint first, so a journal never exists without the definition it belongs to.
          multi.hset(baseKey(viewName, state.partition), FINGERPRINT, engine.view.fingerprint);
          multi.rpush(journalKey(viewName, state.partition), JSON.stringify(rows));
          ops += 2;
          j.events += events.length;
          if (j.events >= compactEvents) due.push(viewName);
        }
        if (ops === 0) return;
        await exec(multi);
        if (due.length > 0) await compactViews(state, due);
      }),
    compact: (state, evicted) => wrap("compacting window state", () => compactViews(state, state.engines.keys(), evicted)),
  };
}
