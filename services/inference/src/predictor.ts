import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { Logger } from "@loopline/kit";
import { GrpcError, GrpcStatus } from "@loopline/proto";
import type { PredictBatchRequest, PredictBatchResponse, PredictRequest, PredictResponse } from "@loopline/proto/gen/loopline/v1/inference_pb.js";
import { PredictBatchResponseSchema, PredictResponseSchema } from "@loopline/proto/gen/loopline/v1/inference_pb.js";
import { Route, type ModelOutput } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { FeatureStatus, type FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { SignatureError, type SignatureEncoder } from "@loopline/signature";
import { failureReason, invalidArgument, toGrpcError } from "./errors.js";
import { FeatureStoreUnavailableError, type FeatureFetcher, type FetchedFeatures } from "./feature-client.js";
import { KIND_FLAG, KIND_INTEGER, KIND_NUMBER, KIND_TEXT, type FeatureColumnData } from "./feature-columns.js";
import type { InferenceMetrics } from "./inference-metrics.js";
import type { LoadedVersion } from "./loaded-version.js";
import type { ModelRepository, ModelSlots } from "./model-repository.js";
import type { PredictionLog } from "./prediction-log.js";
import { BatchedRecord, outputsAt, type InputSource, type RecordBatch } from "./record-batch.js";
import { chooseRoute } from "./routing.js";
import type { HostTensor } from "./tensor.js";

/** Options of createPredictor. */
export interface PredictorOptions {
  repository: ModelRepository;
  features: FeatureFetcher;
  log: PredictionLog;
  metrics: InferenceMetrics;
  logger: Logger;
  /** Answer from signature defaults, flagged degraded, when the feature store is unreachable. */
  degradedDefaults: boolean;
  /** Most entities in one PredictBatch. */
  maxBatchEntities: number;
  /** Most shadow entities waiting; beyond it mirrored work is dropped and counted. */
  shadowQueueSize: number;
}

/** Entity-keyed prediction: Predict and PredictBatch. */
export interface Predictor {
  predict(request: PredictRequest, signal: AbortSignal): Promise<PredictResponse>;
  predictBatch(request: PredictBatchRequest, signal: AbortSignal): Promise<PredictBatchResponse>;
  /** Lets queued shadow work finish (bounded by the caller's grace period). */
  close(): Promise<void>;
}

/** One version's answers for a set of entities. */
interface Evaluation {
  readonly version: LoadedVersion;
  readonly encoder: SignatureEncoder;
  readonly count: number;
  readonly scores: Float64Array;
  readonly decisions: boolean[];
  /** Where each input's values come from (signature order), for the prediction log. */
  readonly sources: readonly InputSource[];
  /** fromStore[i]: sources[i] is a store column (else a request value, or nothing). */
  readonly fromStore: readonly boolean[];
  /** rows[j]: entity j's row in the store columns. */
  readonly rows: readonly number[];
  /** Statuses row-major: entity j's at [j * inputs, (j + 1) * inputs). */
  readonly statuses: FeatureStatus[];
  readonly outputs: readonly HostTensor[];
  readonly degraded: boolean;
  /** What was fetched, so a shadow with the same features reuses it. */
  readonly fetched: { key: string; features: FetchedFeatures } | undefined;
}

interface EntityBatch {
  ids: readonly string[];
  requestFeatures: Readonly<Record<string, FeatureValue>>;
}

/**
 * What the signature encoder is handed for a store value: one object per kind, refilled for every
 * value (the encoder reads it and lets go), so decoding columns makes no message per value.
 */
const scratch = {
  number: { $typeName: "loopline.v1.FeatureValue" as const, kind: { case: "number" as const, value: 0 } },
  text: { $typeName: "loopline.v1.FeatureValue" as const, kind: { case: "text" as const, value: "" } },
  flag: { $typeName: "loopline.v1.FeatureValue" as const, kind: { case: "flag" as const, value: false } },
  integer: { $typeName: "loopline.v1.FeatureValue" as const, kind: { case: "integer" as const, value: 0n } },
};

/** Row r of a store column as a (scratch) FeatureValue; undefined when it has no kind. */
function scratchValue(column: FeatureColumnData, r: number): FeatureValue | undefined {
  switch (column.kinds[r]) {
    case KIND_NUMBER:
      scratch.number.kind.value = column.numbers[r] as number;
      return scratch.number;
    case KIND_TEXT:
      scratch.text.kind.value = column.others[r] as string;
      return scratch.text;
    case KIND_FLAG:
      scratch.flag.kind.value = column.numbers[r] === 1;
      return scratch.flag;
    case KIND_INTEGER:
      scratch.integer.kind.value = column.others[r] as bigint;
      return scratch.integer;
    default:
      return undefined;
  }
}

const ROUTE_LABEL = { [Route.PRODUCTION]: "production", [Route.CANARY]: "canary", [Route.SHADOW]: "shadow", [Route.UNSPECIFIED]: "none" } as const;

const outputNames = new WeakMap<LoadedVersion, string[]>();
function outputNamesOf(version: LoadedVersion): string[] {
  let names = outputNames.get(version);
  if (names === undefined) outputNames.set(version, (names = version.outputs.map((o) => o.name)));
  return names;
}

/** Signature facts needed per request, computed once per loaded version. */
const storeRefCache = new WeakMap<LoadedVersion, { refs: string[]; key: string; storeIndex: number[]; scoreOutput: number }>();
function planOf(version: LoadedVersion, encoder: SignatureEncoder) {
  let plan = storeRefCache.get(version);
  if (plan === undefined) {
    const refs: string[] = [];
    const storeIndex = encoder.inputs.map((input) => (input.requestTime ? -1 : refs.push(input.ref) - 1));
    const scoreOutput = version.outputs.findIndex((o) => o.name === encoder.signature.scoreOutput);
    plan = { refs, key: refs.join("\n"), storeIndex, scoreOutput };
    storeRefCache.set(version, plan);
  }
  return plan;
}

/** Creates the predictor: routing, feature fetch, encoding, batched inference, shadow mirror, log. */
export function createPredictor(options: PredictorOptions): Predictor {
  const { repository, metrics } = options;
  const log = options.logger.child({ component: "predictor" });
  let shadowQueued = 0;
  const shadowRuns = new Set<Promise<void>>();

  const slotsOf = (model: string): ModelSlots => {
    if (model === "") throw invalidArgument("model: required");
    const slots = repository.slots(model);
    if (slots === undefined) throw new GrpcError(GrpcStatus.NOT_FOUND, `model ${model} is not served (unknown, or no version in shadow, canary or production)`);
    return slots;
  };

  const pinned = (slots: ModelSlots, version: string): { version: LoadedVersion; route: Route } => {
    const lv = slots.versions.get(version);
    if (lv === undefined) throw new GrpcError(GrpcStatus.NOT_FOUND, `version ${version} of model ${slots.model} is not loaded`);
    if (lv === slots.production) return { version: lv, route: Route.PRODUCTION };
    if (lv === slots.canary) return { version: lv, route: Route.CANARY };
    throw new GrpcError(GrpcStatus.FAILED_PRECONDITION, `version ${version} of model ${slots.model} does not answer (only production and canary do; shadow answers are never returned)`);
  };

  const production = (slots: ModelSlots): LoadedVersion => {
    if (slots.production === undefined) throw new GrpcError(GrpcStatus.UNAVAILABLE, `model ${slots.model} has no production version ready`);
    return slots.production;
  };

  // Hot path: every Predict and PredictBatch (bench/inference.bench.ts, "PredictBatch 512 entities").
  const evaluate = async (version: LoadedVersion, batch: EntityBatch, signal: AbortSignal | undefined, reuse?: { key: string; features: FetchedFeatures }): Promise<Evaluation> => {
    const encoder = version.encoder;
    if (encoder === undefined) {
      throw new GrpcError(GrpcStatus.FAILED_PRECONDITION, `version ${version.version} of model ${version.model} has no signature; call ModelInfer with tensors instead`);
    }
    const plan = planOf(version, encoder);
    let fetched: FetchedFeatures | undefined;
    let degraded = false;
    if (reuse !== undefined && reuse.key === plan.key) {
      fetched = reuse.features;
    } else {
      try {
        fetched = await options.features.fetch(batch.ids, plan.refs, signal);
      } catch (err) {
        if (!(err instanceof FeatureStoreUnavailableError)) throw err;
        if (!options.degradedDefaults || encoder.failOnMissing) throw new GrpcError(GrpcStatus.UNAVAILABLE, err.message, { cause: err });
        degraded = true;
        metrics.degraded.inc({ model: version.model }, batch.ids.length);
      }
    }
    const n = batch.ids.length;
    const columns = encoder.columnCount;
    const inputs = encoder.inputs.length;
    const matrix = new Float32Array(n * columns);
    const statuses = new Array<FeatureStatus>(n * inputs);
    const sources = new Array<InputSource>(inputs);
    const fromStore = new Array<boolean>(inputs);
    for (let i = 0; i < inputs; i++) {
      const s = plan.storeIndex[i] as number;
      fromStore[i] = s >= 0 && fetched !== undefined;
      sources[i] = s < 0 ? batch.requestFeatures[(encoder.inputs[i] as SignatureEncoder["inputs"][number]).ref] : fetched?.columns[s];
    }
    const rows = fetched?.rows ?? [];
    // Statuses of request-time features (and of store features when the store is away): the same for every entity.
    const fixedStatus = sources.map((source, i) =>
      fromStore[i] === true ? FeatureStatus.UNSPECIFIED : source === undefined || (source as FeatureValue).kind.case === undefined ? FeatureStatus.NOT_FOUND : FeatureStatus.PRESENT,
    );
    for (let j = 0; j < n; j++) {
      const r = rows[j] as number;
      for (let i = 0; i < inputs; i++) {
        const source = sources[i];
        let value: FeatureValue | undefined;
        let status: FeatureStatus;
        if (fromStore[i] === true) {
          value = scratchValue(source as FeatureColumnData, r);
          status = (source as FeatureColumnData).statuses[r] as number;
        } else {
          value = source as FeatureValue | undefined;
          status = fixedStatus[i] as FeatureStatus;
        }
        try {
          encoder.encodeInput(i, value, status, matrix, j * columns);
        } catch (err) {
          if (err instanceof SignatureError) throw new SignatureError(err.code, `entity ${batch.ids[j] ?? ""}: ${err.message}`, err.feature);
          throw err;
        }
        statuses[j * inputs + i] = status;
      }
    }
    const outputs = await infer(version, matrix, n, columns, signal);
    const score = outputs[plan.scoreOutput] as HostTensor;
    const width = n === 0 ? 0 : (score.data as Float32Array).length / n;
    const scores = new Float64Array(n);
    const decisions = new Array<boolean>(n);
    const index = encoder.signature.scoreIndex;
    const threshold = encoder.signature.threshold;
    for (let j = 0; j < n; j++) {
      const v = Number((score.data as Float32Array)[j * width + index]);
      scores[j] = v;
      decisions[j] = v >= threshold;
    }
    return {
      version,
      encoder,
      count: n,
      scores,
      decisions,
      sources,
      fromStore,
      rows,
      statuses,
      outputs,
      degraded,
      fetched: fetched === undefined ? undefined : { key: plan.key, features: fetched },
    };
  };

  /** Runs rows through the batcher in chunks of at most max_batch_size rows; outputs concatenated back. */
  const infer = async (version: LoadedVersion, matrix: Float32Array, n: number, columns: number, signal: AbortSignal | undefined): Promise<HostTensor[]> => {
    const max = version.batchable ? version.limits.maxBatchSize : 1;
    if (n <= max) return [...(await version.batcher.submit([matrix], [[n, columns]], signal)).outputs];
    const parts: Promise<readonly HostTensor[]>[] = [];
    for (let start = 0; start < n; start += max) {
      const rows = Math.min(max, n - start);
      parts.push(version.batcher.submit([matrix.subarray(start * columns, (start + rows) * columns)], [[rows, columns]], signal).then((r) => r.outputs));
    }
    const results = await Promise.all(parts);
    return version.outputs.map((spec, o) => {
      const chunks = results.map((r) => r[o] as HostTensor);
      const first = chunks[0] as HostTensor;
      const total = chunks.reduce((sum, c) => sum + (c.data as Float32Array).length, 0);
      const data = new (first.data.constructor as Float32ArrayConstructor)(total);
      let at = 0;
      for (const c of chunks) {
        data.set(c.data as Float32Array, at);
        at += (c.data as Float32Array).length;
      }
      return { type: spec.type, data, dims: [n, ...first.dims.slice(1)] };
    });
  };

  const outputsOf = (evaluation: Evaluation, j: number): ModelOutput[] =>
    outputsAt(evaluation.outputs, outputNamesOf(evaluation.version), evaluation.count, j);

  /** Appends one record per entity of an evaluation to the prediction log. */
  const record = (evaluation: Evaluation, route: Route, batch: EntityBatch, requestIds: readonly string[], startedAt: number, indexes?: readonly number[]): void => {
    const shared: RecordBatch = {
      timeMs: BigInt(Date.now()),
      model: evaluation.version.model,
      modelVersion: evaluation.version.version,
      route,
      featureRefs: evaluation.encoder.featureRefs as string[],
      sources: evaluation.sources,
      fromStore: evaluation.fromStore,
      rows: evaluation.rows,
      statuses: evaluation.statuses,
      scores: evaluation.scores,
      decisions: evaluation.decisions,
      count: evaluation.count,
      outputs: evaluation.outputs,
      outputNames: outputNamesOf(evaluation.version),
      latencyUs: Math.min(0xffffffff, Math.round((performance.now() - startedAt) * 1000)),
      degraded: evaluation.degraded,
    };
    for (let j = 0; j < evaluation.count; j++) {
      const k = indexes === undefined ? j : (indexes[j] as number);
      options.log.append(new BatchedRecord(shared, j, requestIds[k] as string, batch.ids[j] as string));
    }
  };

  /**
   * Mirrors a request to the shadow version after the answer is made: queued (bounded), run in the
   * background, logged with route SHADOW; failures are counted, never surfaced.
   */
  const mirror = (slots: ModelSlots, answered: readonly Evaluation[], batch: EntityBatch, requestIds: readonly string[]): void => {
    const shadow = slots.shadow;
    if (shadow === undefined || answered.some((e) => e.version === shadow)) return;
    const model = slots.model;
    if (shadowQueued + batch.ids.length > options.shadowQueueSize) {
      metrics.shadow.inc({ model, outcome: "dropped" }, batch.ids.length);
      return;
    }
    shadowQueued += batch.ids.length;
    const done = shadow.acquire();
    const reuse = answered.length === 1 ? answered[0]?.fetched : undefined;
    const started = performance.now();
    const run = (async () => {
      await new Promise<void>((resolve) => setImmediate(resolve)); // never in the answer's turn
      try {
        const evaluation = await evaluate(shadow, batch, undefined, reuse);
        record(evaluation, Route.SHADOW, batch, requestIds, started);
        metrics.shadow.inc({ model, outcome: "mirrored" }, batch.ids.length);
      } catch (err) {
        metrics.shadow.inc({ model, outcome: "failed" }, batch.ids.length);
        log.debug("shadow prediction failed (invisible to the client)", { model, version: shadow.version, err });
      } finally {
        shadowQueued -= batch.ids.length;
        done();
      }
    })();
    shadowRuns.add(run);
    void run.finally(() => shadowRuns.delete(run));
  };

  const requestFeaturesOf = (map: { [key: string]: FeatureValue }): Readonly<Record<string, FeatureValue>> => map;

  return {
    async predict(request, signal) {
      const startedAt = performance.now();
      let labels = { model: request.model, version: request.version, route: "none" };
      try {
        const slots = slotsOf(request.model);
        if (request.entityId === "") throw invalidArgument("entity_id: required");
        const choice =
          request.version !== ""
            ? pinned(slots, request.version)
            : chooseRoute(slots.model, request.entityId, slots.canary === undefined ? undefined : { canaryPercent: slots.canary.info.serving?.canaryPercent ?? 0 }) === "canary"
              ? { version: slots.canary as LoadedVersion, route: Route.CANARY }
              : { version: production(slots), route: Route.PRODUCTION };
        labels = { model: slots.model, version: choice.version.version, route: ROUTE_LABEL[choice.route] };
        const release = choice.version.acquire();
        const batch: EntityBatch = { ids: [request.entityId], requestFeatures: requestFeaturesOf(request.requestFeatures) };
        const requestIds = [request.requestId === "" ? randomUUID() : request.requestId];
        let evaluation: Evaluation;
        try {
          evaluation = await evaluate(choice.version, batch, signal);
        } finally {
          release();
        }
        record(evaluation, choice.route, batch, requestIds, startedAt);
        mirror(slots, [evaluation], batch, requestIds);
        metrics.success.inc({ ...labels, rpc: "Predict" });
        metrics.requestDuration.observe({ model: labels.model, route: labels.route, rpc: "Predict" }, (performance.now() - startedAt) / 1000);
        return create(PredictResponseSchema, {
          requestId: requestIds[0] as string,
          model: slots.model,
          modelVersion: choice.version.version,
          route: choice.route,
          score: evaluation.scores[0] as number,
          decision: evaluation.decisions[0] as boolean,
          outputs: outputsOf(evaluation, 0),
          featureRefs: evaluation.encoder.featureRefs as string[],
          featureStatuses: evaluation.statuses,
          degraded: evaluation.degraded,
        });
      } catch (err) {
        metrics.failure.inc({ ...labels, rpc: "Predict", reason: failureReason(err) });
        throw toGrpcError(err);
      }
    },

    async predictBatch(request, signal) {
      const startedAt = performance.now();
      const n = request.entityIds.length;
      let labels = { model: request.model, version: request.version, route: "none" };
      try {
        const slots = slotsOf(request.model);
        if (n === 0) throw invalidArgument("entity_ids: at least one entity is required");
        if (n > options.maxBatchEntities) throw invalidArgument(`entity_ids: ${n} entities given, at most ${options.maxBatchEntities} per call`);
        if (request.requestIds.length !== 0 && request.requestIds.length !== n) {
          throw invalidArgument(`request_ids: ${request.requestIds.length} given for ${n} entities (give none or one per entity)`);
        }
        for (let j = 0; j < n; j++) if (request.entityIds[j] === "") throw invalidArgument(`entity_ids[${j}]: empty`);
        const batchId = request.requestId === "" ? randomUUID() : request.requestId;
        const requestIds = request.requestIds.length === n ? request.requestIds : request.entityIds.map((_, j) => `${batchId}/${j}`);
        const requestFeatures = requestFeaturesOf(request.requestFeatures);

        // Split the entities by answering deployment; each side runs as one batch.
        const groups: { version: LoadedVersion; route: Route; indexes: number[] }[] = [];
        if (request.version !== "") {
          const choice = pinned(slots, request.version);
          groups.push({ ...choice, indexes: request.entityIds.map((_, j) => j) });
        } else {
          const prod = { version: production(slots), route: Route.PRODUCTION, indexes: [] as number[] };
          const canary = slots.canary === undefined ? undefined : { version: slots.canary, route: Route.CANARY, indexes: [] as number[] };
          const share = canary === undefined ? undefined : { canaryPercent: canary.version.info.serving?.canaryPercent ?? 0 };
          for (let j = 0; j < n; j++) {
            if (canary !== undefined && chooseRoute(slots.model, request.entityIds[j] as string, share) === "canary") canary.indexes.push(j);
            else prod.indexes.push(j);
          }
          for (const g of [prod, canary]) if (g !== undefined && g.indexes.length > 0) groups.push(g);
        }
        labels = { model: slots.model, version: groups.map((g) => g.version.version).join(","), route: groups.map((g) => ROUTE_LABEL[g.route]).join(",") };
        const releases = groups.map((g) => g.version.acquire());
        let evaluations: Evaluation[];
        try {
          evaluations = await Promise.all(
            groups.map((g) =>
              evaluate(g.version, { ids: g.indexes.length === n ? request.entityIds : g.indexes.map((j) => request.entityIds[j] as string), requestFeatures }, signal),
            ),
          );
        } finally {
          for (const release of releases) release();
        }
        const refs = evaluations[0]?.encoder.featureRefs ?? [];
        const sameRefs = evaluations.every((e) => e.encoder.featureRefs.join("\n") === refs.join("\n"));
        const routes = new Array<Route>(n);
        const scores = new Array<number>(n);
        const decisions = new Array<boolean>(n);
        const statuses: FeatureStatus[] = sameRefs ? new Array<FeatureStatus>(n * refs.length) : [];
        let degraded = false;
        groups.forEach((g, gi) => {
          const e = evaluations[gi] as Evaluation;
          degraded ||= e.degraded;
          g.indexes.forEach((j, k) => {
            routes[j] = g.route;
            scores[j] = e.scores[k] as number;
            decisions[j] = e.decisions[k] as boolean;
            if (sameRefs) for (let f = 0; f < refs.length; f++) statuses[j * refs.length + f] = e.statuses[k * refs.length + f] as FeatureStatus;
          });
          record(e, g.route, { ids: g.indexes.map((j) => request.entityIds[j] as string), requestFeatures }, requestIds, startedAt, g.indexes);
          metrics.success.inc({ model: slots.model, version: g.version.version, route: ROUTE_LABEL[g.route], rpc: "PredictBatch" }, g.indexes.length);
        });
        const productionGroup = groups.find((g) => g.route === Route.PRODUCTION);
        const canaryGroup = groups.find((g) => g.route === Route.CANARY);
        if (groups.length === 1 && groups[0]?.indexes.length === n) mirror(slots, evaluations, { ids: request.entityIds, requestFeatures }, requestIds);
        else mirror(slots, [], { ids: request.entityIds, requestFeatures }, requestIds);
        metrics.requestDuration.observe({ model: slots.model, route: labels.route, rpc: "PredictBatch" }, (performance.now() - startedAt) / 1000);
        return create(PredictBatchResponseSchema, {
          requestId: batchId,
          model: slots.model,
          productionVersion: productionGroup?.version.version ?? "",
          canaryVersion: canaryGroup?.version.version ?? "",
          routes,
          scores,
          decisions,
          featureRefs: sameRefs ? (refs as string[]) : [],
          featureStatuses: statuses,
          degraded,
        });
      } catch (err) {
        metrics.failure.inc({ ...labels, rpc: "PredictBatch", reason: failureReason(err) }, Math.max(1, n));
        throw toGrpcError(err);
      }
    },

    async close() {
      while (shadowRuns.size > 0) await Promise.allSettled([...shadowRuns]);
    },
  };
}
