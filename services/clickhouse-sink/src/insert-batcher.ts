import type { Row } from "./rows.js";

/**
 * Group commit for ClickHouse: batch handlers of different partitions (and of topics sharing a table,
 * like the DLQs) hand rows over and wait; their rows go out in one INSERT per table, and each
 * handler's promise settles with the INSERT that holds the last of its rows. The kit commits a
 * partition's offsets only after its handler resolved, so an offset is never committed before the
 * rows behind it are in ClickHouse, and a failed INSERT fails every handler in it (each retries its
 * own batch; copies collapse in the *_dedup views).
 *
 * When an INSERT goes out: at once when a table has maxRows waiting; while behind (a handler saw
 * lag), as soon as the handlers that are running have handed their rows over, because waiting would
 * only slow the catch-up; while caught up, lingerMs after the oldest waiting row, so a quiet stream
 * makes a few larger parts rather than many small ones. One INSERT per table is in flight at a time;
 * rows arriving meanwhile form the next one, which is how batches grow under load.
 */

/**
 * Options of createInsertBatcher. `T` is what handlers hand over: rows (the default), or pieces of an
 * encoded body holding several rows each (`size` says how many).
 */
export interface InsertBatcherOptions<T = Row> {
  /** Writes items to a table; a throw fails every handler waiting on this INSERT. */
  insert: (table: string, items: readonly T[]) => Promise<void>;
  /** Rows an item holds. Default 1 (an item is a row). */
  size?: (item: T) => number;
  /** Most rows per INSERT (a larger hand-over is split into several, between items). */
  maxRows: number;
  /** Longest rows wait for company while caught up, ms. */
  lingerMs: number;
  /** Called after every INSERT with its size, duration and error if it failed (metrics, logs). */
  onInsert?: (table: string, rows: number, seconds: number, error?: unknown) => void;
}

/** A running batcher. */
export interface InsertBatcher<T = Row> {
  /**
   * Queues items for a table; resolves once they are all in ClickHouse, rejects with the INSERT's
   * error. `behind` says the caller has more records waiting (no lingering).
   */
  write(table: string, items: readonly T[], behind: boolean): Promise<void>;
  /** Rows queued and not yet inserted, per table (for tests and logs). */
  queued(table: string): number;
  /** Stops lingering: what is queued goes out now, and so does everything written later. */
  drain(): void;
}

interface Waiter<T> {
  items: readonly T[];
  /** Rows in items. */
  rows: number;
  behind: boolean;
  at: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface TableQueue<T> {
  table: string;
  waiters: Waiter<T>[];
  rows: number;
  inFlight: boolean;
  timer: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
}

/** Creates the per-table group-commit batcher. */
export function createInsertBatcher<T = Row>(options: InsertBatcherOptions<T>): InsertBatcher<T> {
  const queues = new Map<string, TableQueue<T>>();
  const size = options.size ?? (() => 1);
  let draining = false;

  const queueOf = (table: string): TableQueue<T> => {
    let q = queues.get(table);
    if (q === undefined) queues.set(table, (q = { table, waiters: [], rows: 0, inFlight: false, timer: undefined, immediate: undefined }));
    return q;
  };

  const cancelWake = (q: TableQueue<T>) => {
    if (q.timer !== undefined) clearTimeout(q.timer);
    if (q.immediate !== undefined) clearImmediate(q.immediate);
    q.timer = undefined;
    q.immediate = undefined;
  };

  const schedule = (q: TableQueue<T>): void => {
    if (q.inFlight || q.waiters.length === 0) return;
    if (draining || q.rows >= options.maxRows) {
      cancelWake(q);
      void flush(q);
      return;
    }
    if (q.waiters.some((w) => w.behind)) {
      // setImmediate, not now: handlers of the same fetch run in this turn and join this INSERT.
      if (q.timer !== undefined) clearTimeout(q.timer);
      q.timer = undefined;
      q.immediate ??= setImmediate(() => {
        q.immediate = undefined;
        void flush(q);
      });
      return;
    }
    if (q.timer === undefined && q.immediate === undefined) {
      const wait = Math.max(0, (q.waiters[0] as Waiter<T>).at + options.lingerMs - Date.now());
      q.timer = setTimeout(() => {
        q.timer = undefined;
        void flush(q);
      }, wait);
    }
  };

  // Never rejects: outcomes go to the waiters.
  /** Items cut into INSERTs of at most maxRows rows (an item larger than that goes alone). */
  const split = (items: readonly T[], rows: number): { items: readonly T[]; rows: number }[] => {
    if (rows <= options.maxRows) return [{ items, rows }];
    const out: { items: T[]; rows: number }[] = [];
    let current: { items: T[]; rows: number } = { items: [], rows: 0 };
    for (const item of items) {
      const n = size(item);
      if (current.items.length > 0 && current.rows + n > options.maxRows) {
        out.push(current);
        current = { items: [], rows: 0 };
      }
      current.items.push(item);
      current.rows += n;
    }
    if (current.items.length > 0) out.push(current);
    return out;
  };

  const flush = async (q: TableQueue<T>): Promise<void> => {
    if (q.inFlight || q.waiters.length === 0) return;
    cancelWake(q);
    const taken: Waiter<T>[] = [];
    let count = 0;
    while (q.waiters.length > 0) {
      const next = q.waiters[0] as Waiter<T>;
      if (taken.length > 0 && count + next.rows > options.maxRows) break;
      taken.push(q.waiters.shift() as Waiter<T>);
      count += next.rows;
    }
    q.rows -= count;
    q.inFlight = true;
    try {
      const items = taken.length === 1 ? (taken[0] as Waiter<T>).items : taken.flatMap((w) => w.items);
      for (const chunk of split(items, count)) {
        const started = performance.now();
        try {
          await options.insert(q.table, chunk.items);
        } catch (err) {
          options.onInsert?.(q.table, chunk.rows, (performance.now() - started) / 1000, err);
          throw err;
        }
        options.onInsert?.(q.table, chunk.rows, (performance.now() - started) / 1000);
      }
      for (const w of taken) w.resolve();
    } catch (err) {
      for (const w of taken) w.reject(err);
    } finally {
      q.inFlight = false;
      schedule(q);
    }
  };

  return {
    write(table, items, behind) {
      let rows = 0;
      for (const item of items) rows += size(item);
      if (rows === 0) return Promise.resolve();
      const q = queueOf(table);
      return new Promise<void>((resolve, reject) => {
        q.waiters.push({ items, rows, behind, at: Date.now(), resolve, reject });
        q.rows += rows;
        schedule(q);
      });
    },
    queued: (table) => queues.get(table)?.rows ?? 0,
    drain() {
      draining = true;
      for (const q of queues.values()) schedule(q);
    },
  };
}
