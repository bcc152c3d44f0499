import type { ModelOutput, PredictionRecord, Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import type { FeatureStatus, FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { featureValueAt, NULL_VALUE, type FeatureColumnData } from "./feature-columns.js";
import type { HostTensor } from "./tensor.js";

// The prediction records of one evaluated batch share everything but a row index. Building each
// record's feature values, statuses and outputs as messages cost more than the prediction itself
// at PredictBatch rates, and the Kafka sink only encodes them: a BatchedRecord keeps its row of the
// batch's columns and materialises those three fields on first read, while encodePredictionRecord
// writes an untouched one straight from the columns (the same bytes; record-encoding.test.ts).
// Hot path: every Predict and PredictBatch (bench/inference.bench.ts, "PredictBatch 512 entities").

/** Where one signature input's values come from for every row of a batch. */
export type InputSource =
  /** The feature store's column; `rows` of the batch map a record's row to the column's. */
  | FeatureColumnData
  /** A request-time feature: one value (or none) for every entity of the request. */
  | FeatureValue
  | undefined;

/** What the records of one evaluation share. */
export interface RecordBatch {
  readonly timeMs: bigint;
  readonly model: string;
  readonly modelVersion: string;
  readonly route: Route;
  readonly featureRefs: string[];
  /** One per signature input, in signature order. */
  readonly sources: readonly InputSource[];
  /** Which of `sources` are store columns (the others are request values or absent). */
  readonly fromStore: readonly boolean[];
  /** rows[j]: record j's row in every store column. */
  readonly rows: readonly number[];
  /** Statuses row-major: record j's at [j * inputs, (j + 1) * inputs). */
  readonly statuses: readonly FeatureStatus[];
  readonly scores: Float64Array;
  readonly decisions: readonly boolean[];
  /** Rows in the batch (the outputs' first dimension). */
  readonly count: number;
  /** The model's outputs for the whole batch, and their names. */
  readonly outputs: readonly HostTensor[];
  readonly outputNames: readonly string[];
  readonly latencyUs: number;
  readonly degraded: boolean;
}

/** Record j's feature value for input i (NULL_VALUE where there is none). */
export function recordValue(batch: RecordBatch, j: number, i: number): FeatureValue {
  const source = batch.sources[i];
  if (source === undefined) return NULL_VALUE;
  if (batch.fromStore[i] === true) return featureValueAt(source as FeatureColumnData, batch.rows[j] as number);
  return source as FeatureValue;
}

/** Whether an output goes into the prediction log (numeric tensors do; strings and booleans do not). */
export function isLoggedOutput(tensor: HostTensor): boolean {
  return !Array.isArray(tensor.data) && tensor.type !== "bool";
}

/** Row j's outputs as ModelOutput messages. */
export function outputsAt(outputs: readonly HostTensor[], names: readonly string[], count: number, j: number): ModelOutput[] {
  const out: ModelOutput[] = [];
  for (let o = 0; o < outputs.length; o++) {
    const tensor = outputs[o] as HostTensor;
    if (!isLoggedOutput(tensor)) continue;
    const data = tensor.data as Float32Array;
    const perRow = data.length / count;
    const values = new Array<number>(perRow);
    for (let k = 0; k < perRow; k++) values[k] = Number(data[j * perRow + k]);
    // A plain message object: create() costs a reflection walk per record on the hot path.
    out.push({ $typeName: "loopline.v1.ModelOutput", name: names[o] ?? "", values });
  }
  return out;
}

/**
 * Record j of a batch, a loopline.v1.PredictionRecord like any other: scalar fields are its own,
 * feature_values, feature_statuses and outputs are made from the batch on first read (or set).
 * They are accessors: a spread copy (`{ ...record }`) leaves them out; use create() or clone().
 */
export class BatchedRecord implements PredictionRecord {
  readonly $typeName = "loopline.v1.PredictionRecord";
  requestId: string;
  timeMs: bigint;
  model: string;
  modelVersion: string;
  route: Route;
  entityId: string;
  featureRefs: string[];
  score: number;
  decision: boolean;
  latencyUs: number;
  degraded: boolean;
  /** The batch and this record's row in it; undefined once any lazy field was read or set. */
  #batch: RecordBatch | undefined;
  readonly #row: number;
  #values: FeatureValue[] | undefined;
  #statuses: FeatureStatus[] | undefined;
  #outputs: ModelOutput[] | undefined;

  constructor(batch: RecordBatch, row: number, requestId: string, entityId: string) {
    this.requestId = requestId;
    this.timeMs = batch.timeMs;
    this.model = batch.model;
    this.modelVersion = batch.modelVersion;
    this.route = batch.route;
    this.entityId = entityId;
    this.featureRefs = batch.featureRefs;
    this.score = batch.scores[row] as number;
    this.decision = batch.decisions[row] as boolean;
    this.latencyUs = batch.latencyUs;
    this.degraded = batch.degraded;
    this.#batch = batch;
    this.#row = row;
  }

  /** The batch, while no lazy field has been materialised (encoder fast path). */
  get batch(): RecordBatch | undefined {
    return this.#batch;
  }

  /** This record's row in its batch. */
  get row(): number {
    return this.#row;
  }

  /** Makes the lazy fields; afterwards the record is a plain message in all but class. */
  #materialise(): void {
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#batch = undefined;
    const j = this.#row;
    const inputs = batch.sources.length;
    const values = new Array<FeatureValue>(inputs);
    for (let i = 0; i < inputs; i++) values[i] = recordValue(batch, j, i);
    this.#values = values;
    this.#statuses = batch.statuses.slice(j * inputs, (j + 1) * inputs);
    this.#outputs = outputsAt(batch.outputs, batch.outputNames, batch.count, j);
  }

  get featureValues(): FeatureValue[] {
    this.#materialise();
    return this.#values as FeatureValue[];
  }
  set featureValues(v: FeatureValue[]) {
    this.#materialise();
    this.#values = v;
  }
  get featureStatuses(): FeatureStatus[] {
    this.#materialise();
    return this.#statuses as FeatureStatus[];
  }
  set featureStatuses(v: FeatureStatus[]) {
    this.#materialise();
    this.#statuses = v;
  }
  get outputs(): ModelOutput[] {
    this.#materialise();
    return this.#outputs as ModelOutput[];
  }
  set outputs(v: ModelOutput[]) {
    this.#materialise();
    this.#outputs = v;
  }
}
