import type { EntitySnapshot, Event, FeatureEngine, FeatureView } from "@loopline/features";
import { UnavailableError, describeError, type Logger, type RedisClient } from "@loopline/kit";
import { emptyPartitionState, type PartitionState } from "./processor.js";

/**
 * Window state lives in Redis, per (view, partition), in two keys:
 *   fi:{view}:{partition}   hash: a field per entity (its engine snapshot as JSON) and `__fingerprint`
 *                           (the view definition the state belongs to) — the base
 *   fij:{view}:{partition}  list: one element per batch since the base was written, the events the
 *                           view accepted in that batch (JSON) — the journal
 * The state is the base with the journal's events applied in order. Each batch appends one element
 * (its events, about 150 bytes each). Once FOLD_EVENTS events are journaled, the journal so far is
 * folded into the base a slice at a time: each following batch also writes the snapshots of some of
 * the entities that journal touched, in the MULTI that appends its own element, sized so the slices
 * end within about another FOLD_EVENTS events; the batch that writes the last slice also drops
 * those elements from the journal. So no batch waits for thousands of snapshots (one MULTI used to
 * write them all: 150-400 ms per partition in the features bench, with Redis blocked meanwhile), and
 * a batch still costs what its events weigh, not what its entities' whole windows weigh.
 * A snapshot written during a fold is newer than the journal elements before it: replaying those
 * elements over it, their events come back as DUPLICATE (or TOO_LATE once pruned) and change nothing,
 * so a load in the middle of a fold gives the same state as the stream's.
 * The batch that ends a fold also evicts the entities idle past every window and the lateness whose
 * events all lay in the folded elements (none in the journal left): their fields are deleted from
 * the base in the same MULTI, so memory stays bounded and a load cannot bring them back. (Eviction
 * used to run on a timer and write every touched entity's snapshot at once to empty the journal.)
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

/** Journaled events per (view, partition) that start folding them into the base. */
export const FOLD_EVENTS = 50_000;

/** Options of createStateStore. */
export interface StateStoreOptions {
  redis: RedisClient;
  logger: Logger;
  /** Journaled events that start a fold. Default FOLD_EVENTS (tests use fewer). */
  foldEvents?: number;
}

/** Loads and saves per-partition engine state. */
export interface StateStore {
  /** Rebuilds a partition's engines from Redis (empty when nothing is stored or the view changed). */
  load(partition: number, views: readonly FeatureView[]): Promise<PartitionState>;
  /**
   * Journals the events each view accepted in a batch, with a slice of a fold once the journal is
   * long; the batch that ends a fold also evicts the view's idle entities (see the header).
   */
  save(state: PartitionState, accepted: ReadonlyMap<string, readonly Event[]>): Promise<void>;
}

const baseKey = (view: string, partition: number) => `fi:${view}:${partition}`;
const journalKey = (view: string, partition: number) => `fij:${view}:${partition}`;

/** A journaled event: [entityId, eventId, eventTime, type, fields]; the entity is the view's. */
type JournalEvent = [string, string, number, string, Record<string, Event["fields"][string]>];

/** What a partition's journal of one view holds, as this process knows it. */
interface Journal {
  /** Events journaled since the last fold began (or the journal was emptied). */
  events: number;
  /** Entities those events touched. */
  entities: Set<string>;
  /** Elements in the Redis list. */
  elements: number;
  /** A fold in progress: once `remaining` are snapshotted, the first `length` elements are dropped. */
  fold?: { length: number; remaining: string[]; perEvent: number };
}

/**
 * The entities idle past every window and the lateness (by event time, not wall clock: replaying
 * history must not evict what it just built), except those in `keep`; `before` is the cutoff.
 */
function idleEntities(engine: FeatureEngine, keep: ReadonlySet<string>): { before: number; ids: string[] } {
  let newest = Number.NEGATIVE_INFINITY;
  for (const id of engine.entityIds()) newest = Math.max(newest, engine.watermark(id) ?? newest);
  const before = newest - engine.view.retentionMs - engine.view.allowedLatenessMs;
  const ids: string[] = [];
  for (const id of engine.entityIds()) if ((engine.watermark(id) ?? Infinity) < before && !keep.has(id)) ids.push(id);
  return { before, ids };
}

/** Creates the Redis-backed state store. */
export function createStateStore(options: StateStoreOptions): StateStore {
  const { redis, logger } = options;
  const foldEvents = options.foldEvents ?? FOLD_EVENTS;
  const journals = new WeakMap<PartitionState, Map<string, Journal>>();
  const journalOf = (state: PartitionState, view: string): Journal => {
    let byView = journals.get(state);
    if (byView === undefined) journals.set(state, (byView = new Map()));
    let j = byView.get(view);
    if (j === undefined) byView.set(view, (j = { events: 0, entities: new Set(), elements: 0 }));
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
          j.elements = journal.length;
          // Events whose entity was snapshotted after them (a fold) come back as DUPLICATE, or TOO_LATE
          // once pruned from its window: expected. Any other refusal means the state is not the stream's.
          let folded = 0;
          const refused = new Map<string, number>();
          for (const element of journal) {
            for (const [entityId, eventId, eventTime, type, fields] of JSON.parse(element) as JournalEvent[]) {
              const r = engine.ingest({ entity: view.entity, entityId, eventId, eventTime, type, fields });
              if (!r.ok) {
                const code = r.rejection.code;
                if (code === "DUPLICATE" || code === "TOO_LATE") folded++;
                else refused.set(code, (refused.get(code) ?? 0) + 1);
              }
              j.events++;
              j.entities.add(entityId);
            }
          }
          if (refused.size > 0) logger.warn("journaled events refused on replay; the state may differ from the stream's", { view: view.name, partition, refused: Object.fromEntries(refused) });
          if (folded > 0) logger.debug("journaled events already in their entity's snapshot", { view: view.name, partition, events: folded });
          logger.info("window state restored", { view: view.name, partition, entities: engine.entityCount, journaledEvents: j.events });
        }
        return state;
      }),
    save: (state, accepted) =>
      wrap("saving window state", async () => {
        // Hot path: guarded by bench/features.bench.ts (ingest events/s): one list element per view and batch.
        const multi = redis.multi(); // the fingerprint, the journal element and a fold's slice together, or none
        const after: (() => void)[] = []; // what this process records once the MULTI succeeded
        for (const [viewName, events] of accepted) {
          const engine = state.engines.get(viewName);
          if (engine === undefined || events.length === 0) continue;
          const j = journalOf(state, viewName);
          const rows: JournalEvent[] = new Array<JournalEvent>(events.length);
          const touched = new Set<string>();
          for (let i = 0; i < events.length; i++) {
            const e = events[i] as Event;
            rows[i] = [e.entityId, e.eventId, e.eventTime, e.type, e.fields];
            touched.add(e.entityId);
          }
          const base = baseKey(viewName, state.partition);
          const list = journalKey(viewName, state.partition);
          // The fingerprint first, so a journal never exists without the definition it belongs to.
          multi.hset(base, FINGERPRINT, engine.view.fingerprint);
          multi.rpush(list, JSON.stringify(rows));
          const elements = j.elements + 1;
          // Enough journaled: fold everything so far, this batch's element included.
          let fold = j.fold;
          let restarted = false;
          if (fold === undefined && j.events + events.length >= foldEvents) {
            const remaining = [...new Set([...j.entities, ...touched])];
            fold = { length: elements, remaining, perEvent: remaining.length / foldEvents };
            restarted = true;
          }
          let slice: string[] = [];
          let tail: Set<string> | undefined;
          let eviction: { before: number; ids: string[] } | undefined;
          if (fold !== undefined) {
            slice = fold.remaining.slice(-Math.max(1, Math.ceil(fold.perEvent * events.length)));
            const fields = new Map<string, string>();
            for (const id of slice) {
              const json = engine.snapshotJson(id);
              if (json !== undefined) fields.set(id, json);
            }
            if (fields.size > 0) multi.hset(base, fields);
            if (slice.length === fold.remaining.length) {
              multi.ltrim(list, fold.length, -1);
              // The journal left after the trim holds only events of `tail`: any other idle entity can
              // leave the state here, and no load can bring it back.
              tail = restarted ? new Set() : new Set([...j.entities, ...touched]);
              eviction = idleEntities(engine, tail);
              for (let k = 0; k < eviction.ids.length; k += 10_000) multi.hdel(base, ...eviction.ids.slice(k, k + 10_000));
            }
          }
          const started = fold;
          after.push(() => {
            j.elements = elements;
            if (restarted && started !== undefined) {
              j.events = 0;
              j.entities = new Set();
              j.fold = started;
              logger.debug("journal fold started", { view: viewName, partition: state.partition, entities: started.remaining.length, elements: started.length });
            } else {
              j.events += events.length;
              for (const id of touched) j.entities.add(id);
            }
            if (started !== undefined) {
              started.remaining.length -= slice.length;
              if (started.remaining.length === 0) {
                j.elements -= started.length;
                delete j.fold;
                logger.debug("journal fold finished", { view: viewName, partition: state.partition, dropped: started.length, left: j.elements });
              }
            }
            if (eviction !== undefined && eviction.ids.length > 0) {
              engine.evictIdle(eviction.before, tail);
              logger.info("idle entities evicted", { view: viewName, partition: state.partition, evicted: eviction.ids.length });
            }
          });
        }
        if (after.length === 0) return;
        await exec(multi);
        for (const record of after) record();
      }),
  };
}
