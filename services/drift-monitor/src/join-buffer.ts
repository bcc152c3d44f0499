// The bounded join between predictions and labels that arrive late, out of order, or (across topics) before
// their prediction. Recent predictions are indexed by request id and by entity; recent labels are kept for a
// while so predictions that show up after them (another route, the shadow, a lagging partition) still join.
import type { LabelInput } from "./decode.js";
import { labelInWindow, type Window } from "./window.js";

/** Where one prediction sits: the same prediction is counted in its "" window and each segment window. */
export interface Slot {
  readonly window: Window;
  readonly index: number;
}

/** One buffered prediction. */
export interface JoinEntry {
  readonly requestId: string;
  readonly entityId: string;
  readonly timeMs: number;
  /** model, version and route: a label joins at most one prediction per group. */
  readonly group: string;
  readonly slots: Slot[];
}

interface WaitingLabel {
  readonly label: LabelInput;
  readonly at: number;
  /** Groups this label was already joined to. */
  readonly joined: Set<string>;
}

/** Options of createJoinBuffer. */
export interface JoinBufferOptions {
  /** Most predictions indexed; the oldest are forgotten first. */
  readonly maxPredictions: number;
  /** Largest distance between a prediction's time and an entity-keyed label's event time. */
  readonly timeToleranceMs: number;
  /** How long a label waits for predictions that arrive after it. */
  readonly labelWaitMs: number;
  /** Most labels waiting; the oldest are dropped first. */
  readonly maxWaitingLabels: number;
}

/** The join buffer. */
export interface JoinBuffer {
  /** Whether this prediction (same request id and group) is already buffered: a redelivery. */
  has(requestId: string, group: string, timeMs: number): boolean;
  /** Buffers a prediction and applies any waiting label that matches it; returns labels applied. */
  addPrediction(entry: JoinEntry): number;
  /** Applies a label to the predictions it matches and keeps it waiting; returns predictions labelled. */
  addLabel(label: LabelInput, now: number): number;
  /** Drops labels that waited longer than labelWaitMs. */
  expire(now: number): void;
  readonly predictions: number;
  readonly waitingLabels: number;
}

function labelKey(l: LabelInput): string {
  return l.requestId !== "" ? `r\u0000${l.requestId}` : `e\u0000${l.entityId}\u0000${l.eventTimeMs}`;
}

function remove<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list === undefined) return;
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) map.delete(key);
}

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [item]);
  else list.push(item);
}

function apply(entry: JoinEntry, label: 0 | 1): void {
  for (const s of entry.slots) labelInWindow(s.window, s.index, label);
}

/** Creates an empty join buffer. */
export function createJoinBuffer(options: JoinBufferOptions): JoinBuffer {
  const byRequest = new Map<string, JoinEntry[]>();
  const byEntity = new Map<string, JoinEntry[]>();
  // FIFO of buffered predictions; `head` is the oldest live one (compacted now and then).
  let fifo: JoinEntry[] = [];
  let head = 0;
  // Waiting labels in arrival order (a re-sent label moves to the end), indexed by entity for entity labels.
  const waiting = new Map<string, WaitingLabel>();
  const waitingByEntity = new Map<string, string[]>();

  const dropWaiting = (key: string) => {
    const w = waiting.get(key);
    if (w === undefined) return;
    waiting.delete(key);
    if (w.label.requestId === "") remove(waitingByEntity, w.label.entityId, key);
  };

  const matchesEntityLabel = (entry: JoinEntry, l: LabelInput) => Math.abs(entry.timeMs - l.eventTimeMs) <= options.timeToleranceMs;

  return {
    has(requestId, group, timeMs) {
      if (requestId === "") return false;
      return (byRequest.get(requestId) ?? []).some((e) => e.group === group && e.timeMs === timeMs);
    },

    addPrediction(entry) {
      if (entry.requestId !== "") push(byRequest, entry.requestId, entry);
      if (entry.entityId !== "") push(byEntity, entry.entityId, entry);
      fifo.push(entry);
      while (fifo.length - head > options.maxPredictions) {
        const old = fifo[head++] as JoinEntry;
        if (old.requestId !== "") remove(byRequest, old.requestId, old);
        if (old.entityId !== "") remove(byEntity, old.entityId, old);
      }
      if (head > 4096 && head * 2 > fifo.length) {
        fifo = fifo.slice(head);
        head = 0;
      }
      let applied = 0;
      const candidates: WaitingLabel[] = [];
      const byId = entry.requestId === "" ? undefined : waiting.get(`r\u0000${entry.requestId}`);
      if (byId !== undefined) candidates.push(byId);
      for (const key of waitingByEntity.get(entry.entityId) ?? []) {
        const w = waiting.get(key);
        if (w !== undefined && matchesEntityLabel(entry, w.label)) candidates.push(w);
      }
      for (const w of candidates) {
        if (w.joined.has(entry.group)) continue;
        w.joined.add(entry.group);
        apply(entry, w.label.label);
        applied++;
      }
      return applied;
    },

    addLabel(label, now) {
      const key = labelKey(label);
      const before = waiting.get(key);
      const joined = new Set<string>();
      // A label sent again (redelivery or a correction) replaces the earlier one wherever that one joined.
      const targets: JoinEntry[] = [];
      if (label.requestId !== "") {
        targets.push(...(byRequest.get(label.requestId) ?? []));
      } else {
        // Per group, the entity's prediction nearest the event time (earlier one on a tie).
        const nearest = new Map<string, JoinEntry>();
        for (const e of byEntity.get(label.entityId) ?? []) {
          if (!matchesEntityLabel(e, label)) continue;
          const held = nearest.get(e.group);
          const d = Math.abs(e.timeMs - label.eventTimeMs);
          if (held === undefined || d < Math.abs(held.timeMs - label.eventTimeMs) || (d === Math.abs(held.timeMs - label.eventTimeMs) && e.timeMs < held.timeMs)) {
            nearest.set(e.group, e);
          }
        }
        targets.push(...nearest.values());
      }
      for (const e of targets) {
        apply(e, label.label);
        joined.add(e.group);
      }
      for (const g of before?.joined ?? []) joined.add(g);
      dropWaiting(key);
      waiting.set(key, { label, at: now, joined });
      if (label.requestId === "") push(waitingByEntity, label.entityId, key);
      while (waiting.size > options.maxWaitingLabels) {
        const oldest = waiting.keys().next().value as string;
        dropWaiting(oldest);
      }
      return targets.length;
    },

    expire(now) {
      for (const [key, w] of waiting) {
        if (now - w.at <= options.labelWaitMs) break;
        dropWaiting(key);
      }
    },

    get predictions() {
      return fifo.length - head;
    },
    get waitingLabels() {
      return waiting.size;
    },
  };
}
