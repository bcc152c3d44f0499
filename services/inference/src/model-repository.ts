import type { Logger } from "@loopline/kit";
import { Stage, VersionStatus, type ModelVersion } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import type { NonFinitePolicy } from "@loopline/signature";
import type { RunStats } from "./batcher.js";
import { loadVersion, type BatchLimits, type LoadedVersion } from "./loaded-version.js";
import type { ModelSource } from "./model-source.js";

/**
 * What serves a model right now. A request reads it once, so it sees one consistent set of
 * versions even while a swap happens; swaps replace the whole object (atomic switch).
 */
export interface ModelSlots {
  readonly model: string;
  /** The champion; undefined before the first production version has loaded. */
  readonly production: LoadedVersion | undefined;
  readonly canary: LoadedVersion | undefined;
  readonly shadow: LoadedVersion | undefined;
  /** Every loaded version by id (explicit version pins). */
  readonly versions: ReadonlyMap<string, LoadedVersion>;
}

/** Options of createModelRepository. */
export interface ModelRepositoryOptions {
  source: ModelSource;
  logger: Logger;
  /** Batch limits where a version's ServingConfig leaves 0. */
  defaults: BatchLimits;
  /** onnxruntime intra-op threads per session. */
  intraOpThreads: number;
  /** NaN policy of signature encoding. */
  nonFinite: NonFinitePolicy;
  /** Told about every run (metrics). */
  onRun?: (version: LoadedVersion, stats: RunStats) => void;
  /** Told about every load attempt (metrics). */
  onLoad?: (model: string, version: string, outcome: "loaded" | "failed", seconds: number) => void;
  /** Told whenever the served set changes (metrics). */
  onChange?: (slots: ModelSlots) => void;
}

/** Loaded model versions, kept in step with a ModelSource. */
export interface ModelRepository {
  /** Starts following the source; resolves once its initial state is loaded (or failed to load). */
  start(): Promise<void>;
  /** The serving set of a model, or undefined when nothing of it is loaded. */
  slots(model: string): ModelSlots | undefined;
  /** Every model with something loaded. */
  models(): ModelSlots[];
  /** True once the initial state is loaded and every model with a production version serves it. */
  readonly ready: boolean;
  /** Resolves when nothing is loading (tests wait for a swap with it). */
  idle(): Promise<void>;
  /** Stops following, releases every session (after in-flight requests). */
  close(): Promise<void>;
}

const SERVING = new Set([Stage.SHADOW, Stage.CANARY, Stage.PRODUCTION]);
const key = (model: string, version: string) => `${model}\u0000${version}`;

interface ModelState {
  /** Latest description of each version, by version id. */
  desired: Map<string, ModelVersion>;
  /** Arrival order of the latest description per version (the newest production wins). */
  order: Map<string, number>;
  slots: ModelSlots;
}

/**
 * Loads versions in the background as they reach shadow, canary or production, switches the
 * serving set atomically once a version is warmed up, and retires versions that leave serving:
 * their session is released when the requests still using it are done. A production version is
 * only replaced once its successor is ready, so a promotion never leaves a gap.
 */
export function createModelRepository(options: ModelRepositoryOptions): ModelRepository {
  const log = options.logger.child({ component: "model-repository" });
  const states = new Map<string, ModelState>();
  const loading = new Map<string, Promise<void>>();
  /** Artifact digests that failed to load, so a bad version is not retried on every event. */
  const failed = new Map<string, string>();
  let arrivals = 0;
  let caughtUp = false;
  let closed = false;

  const stateOf = (model: string): ModelState => {
    let state = states.get(model);
    if (state === undefined) {
      state = { desired: new Map(), order: new Map(), slots: { model, production: undefined, canary: undefined, shadow: undefined, versions: new Map() } };
      states.set(model, state);
    }
    return state;
  };

  const isServing = (v: ModelVersion | undefined): v is ModelVersion =>
    v !== undefined && v.status !== VersionStatus.REJECTED && SERVING.has(v.stage);

  /** The most recently changed desired version in a stage. */
  const newestIn = (state: ModelState, stage: Stage): ModelVersion | undefined => {
    let best: ModelVersion | undefined;
    let bestOrder = -1;
    for (const v of state.desired.values()) {
      const order = state.order.get(v.version) ?? 0;
      if (v.stage === stage && isServing(v) && order > bestOrder) {
        best = v;
        bestOrder = order;
      }
    }
    return best;
  };

  const reconcile = (model: string): void => {
    const state = stateOf(model);
    const loaded = new Map(state.slots.versions);
    const wantProduction = newestIn(state, Stage.PRODUCTION);
    const wantCanary = newestIn(state, Stage.CANARY);
    const wantShadow = newestIn(state, Stage.SHADOW);
    for (const want of [wantProduction, wantCanary, wantShadow]) {
      // Not loaded yet, or loaded from other bytes (a folder version rewritten in place): load it.
      if (want !== undefined && loaded.get(want.version)?.info.artifactSha256 !== want.artifactSha256) startLoad(want);
    }
    for (const [id, lv] of loaded) {
      const latest = state.desired.get(id);
      if (latest !== undefined && latest !== lv.info && latest.artifactSha256 === lv.info.artifactSha256) lv.update(latest);
    }
    const pick = (want: ModelVersion | undefined) => (want === undefined ? undefined : loaded.get(want.version));
    // Keep the current champion until its successor is loaded: stale beats nothing.
    const previous = state.slots.production;
    const production = pick(wantProduction) ?? (previous !== undefined && !previous.retired ? previous : undefined);
    const next: ModelSlots = { model, production, canary: pick(wantCanary), shadow: pick(wantShadow), versions: loaded };
    for (const [id, lv] of loaded) {
      const inUse = lv === next.production || lv === next.canary || lv === next.shadow;
      if (!inUse && !isServing(state.desired.get(id))) {
        loaded.delete(id);
        log.info("version retired", { model, version: id });
        void lv.retire().catch((err: unknown) => log.error("session release failed", { model, version: id, err }));
      }
    }
    state.slots = next;
    options.onChange?.(next);
  };

  const startLoad = (want: ModelVersion): void => {
    const k = key(want.model, want.version);
    if (loading.has(k) || failed.get(k) === want.artifactSha256) return;
    const started = performance.now();
    const job = (async () => {
      try {
        const artifact = await options.source.fetchArtifact(want.model, want.version);
        const latest = stateOf(want.model).desired.get(want.version) ?? want;
        const lv = await loadVersion({
          version: latest,
          artifact,
          defaults: options.defaults,
          intraOpThreads: options.intraOpThreads,
          nonFinite: options.nonFinite,
          ...(options.onRun === undefined ? {} : { onRun: options.onRun }),
        });
        if (closed) {
          await lv.retire();
          return;
        }
        const state = stateOf(want.model);
        const replaced = state.slots.versions.get(want.version);
        (state.slots.versions as Map<string, LoadedVersion>).set(want.version, lv);
        if (replaced !== undefined) void replaced.retire().catch((err: unknown) => log.error("session release failed", { model: want.model, version: want.version, err }));
        failed.delete(k);
        options.onLoad?.(want.model, want.version, "loaded", (performance.now() - started) / 1000);
        log.info("version loaded", { model: want.model, version: want.version, stage: Stage[latest.stage], batchable: lv.batchable, ms: Math.round(performance.now() - started) });
      } catch (err) {
        failed.set(k, want.artifactSha256);
        options.onLoad?.(want.model, want.version, "failed", (performance.now() - started) / 1000);
        log.error("version failed to load; not served", { model: want.model, version: want.version, err });
      } finally {
        loading.delete(k);
      }
      if (!closed) reconcile(want.model);
    })();
    loading.set(k, job);
  };

  const onVersion = (version: ModelVersion): void => {
    if (closed) return;
    const state = stateOf(version.model);
    const before = state.desired.get(version.version);
    state.desired.set(version.version, version);
    state.order.set(version.version, ++arrivals);
    if (before !== undefined && before.artifactSha256 !== version.artifactSha256) failed.delete(key(version.model, version.version));
    reconcile(version.model);
  };

  const idle = async (): Promise<void> => {
    while (loading.size > 0) await Promise.allSettled([...loading.values()]);
  };

  return {
    async start() {
      await options.source.start(onVersion);
      await idle();
      caughtUp = true;
    },
    slots(model) {
      const slots = states.get(model)?.slots;
      return slots === undefined || slots.versions.size === 0 ? undefined : slots;
    },
    models() {
      return [...states.values()].map((s) => s.slots).filter((s) => s.versions.size > 0);
    },
    get ready() {
      if (!caughtUp) return false;
      for (const state of states.values()) {
        const want = newestIn(state, Stage.PRODUCTION);
        if (want !== undefined && state.slots.production === undefined && failed.get(key(want.model, want.version)) === undefined) return false;
      }
      return true;
    },
    idle,
    async close() {
      closed = true;
      await options.source.close();
      await idle();
      const all = [...states.values()].flatMap((s) => [...s.slots.versions.values()]);
      states.clear();
      await Promise.allSettled(all.map((lv) => lv.retire()));
    },
  };
}
