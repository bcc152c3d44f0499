import { createFeatureEngine, type Event, type EventValidator, type FeatureEngine, type FeatureUpdate, type FeatureView } from "@loopline/features";
import type { ConsumedRecord, DeadLetterReason } from "@loopline/kit";
import { decodeRecord } from "./decode.js";

/** The engines of one partition: one per view. Entities are partitioned by key, so state is too. */
export interface PartitionState {
  readonly partition: number;
  readonly engines: ReadonlyMap<string, FeatureEngine>;
}

/** Creates empty per-view engines for a partition. */
export function emptyPartitionState(partition: number, views: readonly FeatureView[]): PartitionState {
  return { partition, engines: new Map(views.map((v) => [v.name, createFeatureEngine({ view: v })])) };
}

/** What one batch produced. */
export interface BatchOutcome {
  /** Feature updates to publish, in processing order (empty when processBatch was given `emit`). */
  updates: FeatureUpdate[];
  /** Records refused, with the reason for the DLQ. */
  dead: { record: ConsumedRecord; reason: DeadLetterReason }[];
  /** Events each view accepted, in order: what changed its state (the state store journals them). */
  accepted: Map<string, Event[]>;
  /** Events accepted by at least one view. */
  acceptedCount: number;
  /** Redeliveries recognised by event id and skipped. */
  duplicates: number;
  /** Rejections by reason code. */
  rejected: Map<string, number>;
}

/**
 * Runs a batch of raw records through validation and the engines. Pure apart from the engines'
 * state: no I/O, so it is tested without servers. Each record is handled on its own — a record
 * that fails in any way becomes a dead letter and never stops the rest (no poison records).
 */
// Hot path: guarded by bench/features.bench.ts (ingest events/s against a bare kafkajs consumer).
export function processBatch(
  records: readonly ConsumedRecord[],
  state: PartitionState,
  views: readonly FeatureView[],
  validator: EventValidator,
  /**
   * Takes each update as it is made instead of collecting it in `updates` (which then stays empty):
   * feature-ingest encodes it on the spot, so the update objects die young instead of surviving
   * garbage collections for the length of the batch.
   */
  emit?: (update: FeatureUpdate) => void,
): BatchOutcome {
  const out: BatchOutcome = { updates: [], dead: [], accepted: new Map(), acceptedCount: 0, duplicates: 0, rejected: new Map() };
  const reject = (record: ConsumedRecord, code: string, detail: string) => {
    out.dead.push({ record, reason: { code, detail } });
    out.rejected.set(code, (out.rejected.get(code) ?? 0) + 1);
  };
  for (const record of records) {
    try {
      const decoded = decodeRecord(record, validator);
      if (!decoded.ok) {
        reject(record, decoded.code, decoded.detail);
        continue;
      }
      const event = decoded.event;
      let acceptedBy = 0;
      let duplicate = false;
      let late: string | undefined;
      for (const view of views) {
        if (view.entity !== event.entity || !view.sourceTypes.includes(event.type)) continue;
        const engine = state.engines.get(view.name);
        if (engine === undefined) continue;
        const r = engine.ingest(event);
        if (r.ok) {
          acceptedBy++;
          if (emit === undefined) out.updates.push(r.update);
          else emit(r.update);
          let list = out.accepted.get(view.name);
          if (list === undefined) out.accepted.set(view.name, (list = []));
          list.push(event);
        } else if (r.rejection.code === "DUPLICATE") {
          duplicate = true;
        } else {
          late = `${r.rejection.code}: ${r.rejection.message}`;
        }
      }
      if (acceptedBy > 0) out.acceptedCount++;
      else if (duplicate) out.duplicates++;
      else if (late !== undefined) reject(record, late.slice(0, late.indexOf(":")), late.slice(late.indexOf(":") + 2));
      else reject(record, "UNKNOWN_TYPE", `no feature view consumes ${event.entity}/${event.type}`);
    } catch (err) {
      // A bug or an unforeseen input must not block the partition: dead-letter it with the cause.
      reject(record, "INTERNAL_ERROR", `processing failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}
