import { fromFeatureValue, toFeatureValue } from "@loopline/proto";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { pointInTime, type Event, type FeatureView } from "@loopline/features";
import type { LabelledExample, TrainingSet } from "@loopline/trainer";

/** A label tied to an entity at an instant (the prediction or decision time). */
export interface ReplayLabel {
  /** Row id (a request id, or any stable key). */
  readonly id: string;
  readonly entityId: string;
  /** Epoch ms: features are taken as served at this instant, from events at or before it. */
  readonly atMs: number;
  readonly label: number;
}

/**
 * Training set for a NEW feature set (features never served, so not in the predictions table):
 * replays raw events through @loopline/features' engine, the code the stream runs, and reads each
 * label's features point-in-time in "served" mode (max-age applied), so no future event leaks in.
 * Features that were not PRESENT are marked missing, as the online store would have reported them.
 */
export function trainingSetFromReplay(view: FeatureView, events: Iterable<Event>, labels: readonly ReplayLabel[], featureNames: readonly string[], spec: string): TrainingSet {
  const rows = pointInTime(view, events, labels.map((l) => ({ entityId: l.entityId, at: l.atMs })), { mode: "served" });
  const featureRefs = featureNames.map((name) => `${view.name}:${name}`);
  const examples: LabelledExample[] = rows.map((row, i) => {
    const label = labels[i]!;
    const values = featureNames.map((name) => {
      const v = row.values[name];
      return v === undefined || v === null ? undefined : toFeatureValue(v);
    });
    return {
      id: label.id,
      timeMs: label.atMs,
      values,
      statuses: values.map((v) => (v === undefined || fromFeatureValue(v) === null ? FeatureStatus.NULL_VALUE : FeatureStatus.PRESENT)),
      label: label.label >= 0.5 ? 1 : 0,
    };
  });
  return { featureRefs, examples, query: spec };
}
