// Decoding of the two inputs: protobuf PredictionRecords from loopline.predictions, and labels from
// loopline.labels as protobuf Label or one of the two JSON forms. Anything else is a reason for the DLQ.
import { fromBinary } from "@bufbuild/protobuf";
import { decodeLabel as decodeSharedLabel, fromFeatureValue, isLabelProblem, type PlainValue } from "@loopline/proto";
import { PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";

/** A prediction as the monitor needs it. */
export interface Prediction {
  readonly requestId: string;
  readonly timeMs: number;
  readonly model: string;
  readonly modelVersion: string;
  readonly route: Route;
  readonly entityId: string;
  /** Served feature values by ref; a feature whose status says it was not served is null. */
  readonly features: ReadonlyMap<string, PlainValue>;
  readonly score: number;
}

/** A ground-truth label, whichever form it came in. */
export interface LabelInput {
  /** Ties the label to predictions with this request id ("" when entity-keyed). */
  readonly requestId: string;
  /** With eventTimeMs, ties the label to the entity's prediction nearest that time ("" when request-keyed). */
  readonly entityId: string;
  readonly eventTimeMs: number;
  /** 0 or 1 (1 = positive class). */
  readonly label: 0 | 1;
  /** When the label became known (0 when not given). */
  readonly labelTimeMs: number;
}

/** Why a record could not be used: the DLQ reason. */
export interface DecodeProblem {
  readonly code: string;
  readonly detail: string;
}

// Statuses under which the served value is not a real observation: the model saw a default instead.
const NOT_SERVED = new Set([FeatureStatus.NULL_VALUE, FeatureStatus.NOT_FOUND, FeatureStatus.OUTSIDE_MAX_AGE]);

/** Decodes a loopline.v1.PredictionRecord; a problem when it is not one or lacks model/version. */
export function decodePrediction(bytes: Uint8Array): Prediction | DecodeProblem {
  let r;
  try {
    r = fromBinary(PredictionRecordSchema, bytes);
  } catch (err) {
    return { code: "MALFORMED_PREDICTION", detail: `not a loopline.v1.PredictionRecord: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (r.model === "" || r.modelVersion === "") return { code: "MISSING_FIELD", detail: "model and model_version are required" };
  if (r.featureValues.length !== r.featureRefs.length) {
    return { code: "INVALID_FIELD", detail: `${r.featureRefs.length} feature_refs but ${r.featureValues.length} feature_values` };
  }
  const features = new Map<string, PlainValue>();
  r.featureRefs.forEach((ref, i) => {
    const status = r.featureStatuses[i] ?? FeatureStatus.UNSPECIFIED;
    features.set(ref, NOT_SERVED.has(status) ? null : fromFeatureValue(r.featureValues[i]));
  });
  return {
    requestId: r.requestId,
    timeMs: Number(r.timeMs),
    model: r.model,
    modelVersion: r.modelVersion,
    route: r.route,
    entityId: r.entityId,
    features,
    score: r.score,
  };
}

/** True when a decode result is a problem. */
export function isProblem(x: unknown): x is DecodeProblem {
  return typeof x === "object" && x !== null && "code" in x && "detail" in x;
}

/** Reads a label with the decoder every consumer of loopline.labels shares (@loopline/proto's decodeLabel). */
export function decodeLabel(bytes: Uint8Array, contentType: string | undefined): LabelInput | DecodeProblem {
  const l = decodeSharedLabel(bytes, contentType);
  if (isLabelProblem(l)) return l;
  return { requestId: l.requestId, entityId: l.entityId, eventTimeMs: l.eventTimeMs, label: l.label, labelTimeMs: l.labelTimeMs };
}
