// Decoding of the two inputs: protobuf PredictionRecords from loopline.predictions, and labels from
// loopline.labels as protobuf Label or one of the two JSON forms. Anything else is a reason for the DLQ.
import { fromBinary } from "@bufbuild/protobuf";
import { fromFeatureValue, type PlainValue } from "@loopline/proto";
import { LabelSchema, PredictionRecordSchema, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
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

function labelValue(v: unknown): 0 | 1 | undefined {
  if (v === 0 || v === false) return 0;
  if (v === 1 || v === true) return 1;
  return undefined;
}

/** Epoch ms from a number (epoch ms) or an RFC 3339 string; undefined when neither. */
function timeValue(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function checked(l: LabelInput): LabelInput | DecodeProblem {
  if (l.requestId === "" && l.entityId === "") return { code: "MISSING_FIELD", detail: "a label needs request_id, or entity_id with event_time" };
  if (l.requestId === "" && !(l.eventTimeMs > 0)) return { code: "MISSING_FIELD", detail: "an entity-keyed label needs event_time" };
  return l;
}

function decodeJsonLabel(text: string): LabelInput | DecodeProblem {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { code: "MALFORMED_JSON", detail: "label is not valid JSON" };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return { code: "MALFORMED_JSON", detail: "label is not a JSON object" };
  const o = json as Record<string, unknown>;
  const label = labelValue(o["label"]);
  if (label === undefined) return { code: "INVALID_LABEL", detail: `label must be 0, 1, true or false, got ${JSON.stringify(o["label"])}` };
  const requestId = typeof o["request_id"] === "string" ? o["request_id"] : "";
  const entityId = typeof o["entity_id"] === "string" ? o["entity_id"] : "";
  let eventTimeMs = 0;
  if (o["event_time"] !== undefined) {
    const t = timeValue(o["event_time"]);
    if (t === undefined) return { code: "BAD_EVENT_TIME", detail: "event_time must be epoch ms or RFC 3339" };
    eventTimeMs = t;
  }
  let labelTimeMs = 0;
  if (o["label_time"] !== undefined) {
    const t = timeValue(o["label_time"]);
    if (t === undefined) return { code: "BAD_LABEL_TIME", detail: "label_time must be epoch ms or RFC 3339" };
    labelTimeMs = t;
  }
  return checked({ requestId, entityId, eventTimeMs, label, labelTimeMs });
}

/**
 * Decodes a label: protobuf loopline.v1.Label when the content-type header says application/x-protobuf or
 * the bytes do not start like JSON, else the JSON forms {request_id, label, label_time} and
 * {entity_id, event_time, label} (times as epoch ms or RFC 3339; label 0/1 or false/true).
 */
export function decodeLabel(bytes: Uint8Array, contentType: string | undefined): LabelInput | DecodeProblem {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  const first = bytes.find((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
  // '{' (0x7b) would be field 15 with a deprecated wire type in protobuf: never a valid Label.
  if (type !== "application/x-protobuf" && (type === "application/json" || first === 0x7b)) {
    return decodeJsonLabel(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  }
  let l;
  try {
    l = fromBinary(LabelSchema, bytes);
  } catch (err) {
    return { code: "MALFORMED_LABEL", detail: `neither JSON nor a loopline.v1.Label: ${err instanceof Error ? err.message : String(err)}` };
  }
  const label = labelValue(l.label);
  if (label === undefined) return { code: "INVALID_LABEL", detail: `label must be 0 or 1, got ${l.label}` };
  return checked({ requestId: l.requestId, entityId: l.entityId, eventTimeMs: Number(l.eventTimeMs), label, labelTimeMs: Number(l.labelTimeMs) });
}
