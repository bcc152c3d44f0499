import type { Logger, Metrics } from "@loopline/kit";
import {
  ModelEventType,
  type Lineage,
  type Model,
  type ModelEvent,
  type ModelSignature,
  type ModelVersion,
  type ServingConfig,
} from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import type { ArtifactStore } from "./artifact-store.js";
import {
  checkModelName,
  decideDeleteAlias,
  decideRegistration,
  decideRollback,
  decideServingConfig,
  decideSetAlias,
  decideSetTags,
  decideTransition,
  requireModel,
  resolveVersion,
  type RollbackInput,
  type TransitionInput,
  type ValidationOutcome,
} from "./decisions.js";
import { invalidArgument, RegistryError } from "./errors.js";
import type { EventLog } from "./event-log.js";
import { history, listVersions, type VersionQuery } from "./queries.js";
import { applyEvent, createRegistryState, EventOrderError, modelSummary, stampEvents, type EventDraft } from "./registry-state.js";
import { checkSignature } from "./signature.js";
import { validateArtifact } from "./validation.js";

/** Largest reference profile accepted: it travels inside every event snapshot of its version. */
export const MAX_REFERENCE_PROFILE_BYTES = 512 * 1024;

/** Most undelivered events a watcher may fall behind before its stream is ended (it resumes from its last sequence). */
export const MAX_WATCH_BACKLOG = 10_000;

/** Everything a registration carries besides the ONNX bytes. */
export interface RegistrationRequest {
  model: string;
  description: string;
  signature: ModelSignature | undefined;
  lineage: Lineage | undefined;
  metrics: Record<string, number>;
  referenceProfile: Uint8Array;
  tags: Record<string, string>;
  serving: ServingConfig | undefined;
  actor: string;
}

/** Options of createRegistry. */
export interface RegistryOptions {
  /** The source of truth. */
  log: EventLog;
  /** Where artifacts go. */
  store: ArtifactStore;
  logger: Logger;
  /** Registers loopline_registry_* metrics. Default: none. */
  metrics?: Metrics;
  /** Clock in epoch ms. Default Date.now. */
  now?: () => number;
  /** Artifact validation. Default validateArtifact (onnxruntime-node). */
  validate?: (bytes: Uint8Array, signature: ModelSignature, referenceProfile: Uint8Array) => Promise<ValidationOutcome>;
  /** How long a write may wait for the log to catch up after a failed publish. Default 30000 ms. */
  resyncTimeoutMs?: number;
}

/** The model registry without its transport: commands, queries and the change feed. */
export interface Registry {
  /** Replays the log; resolves when the state is complete and writes are accepted. */
  start(): Promise<void>;
  /** True once start() finished and until close(). */
  isReady(): boolean;
  /** Validates, stores and records a version (READY or REJECTED). */
  register(request: RegistrationRequest, artifact: Uint8Array): Promise<{ version: ModelVersion; deduplicated: boolean }>;
  transition(input: TransitionInput, actor: string): Promise<{ version: ModelVersion; previousProduction: string }>;
  rollback(input: RollbackInput, actor: string): Promise<{ production: ModelVersion; rolledBack: string }>;
  setAlias(input: { model: string; alias: string; version: string }, actor: string): Promise<ModelVersion>;
  deleteAlias(input: { model: string; alias: string }, actor: string): Promise<void>;
  setTags(input: { model: string; version: string; tags: Record<string, string>; remove: readonly string[] }, actor: string): Promise<ModelVersion>;
  setServingConfig(input: { model: string; version: string; serving?: ServingConfig | undefined }, actor: string): Promise<ModelVersion>;
  getModel(name: string): Model;
  listModels(): Model[];
  getVersion(model: string, version: string, alias: string): ModelVersion;
  listVersions(query: VersionQuery): { versions: ModelVersion[]; nextPageToken: string };
  history(model: string, version: string): ModelEvent[];
  /** A version's ONNX bytes, hash-checked by the store. */
  artifact(model: string, version: string): Promise<{ sha256: string; bytes: Uint8Array }>;
  /** Events with sequence >= fromSequence (of one model, or all), then live ones, until the signal aborts. */
  watch(fromSequence: bigint, model: string, signal: AbortSignal): AsyncIterable<ModelEvent>;
  /** Sequence of the last applied event. */
  lastSequence(): bigint;
  /** Stops accepting writes and closes the log. */
  close(): Promise<void>;
}

/** Builds the registry around an event log and an artifact store. */
export function createRegistry(options: RegistryOptions): Registry {
  const { log, store } = options;
  const logger = options.logger.child({ component: "registry" });
  const now = options.now ?? Date.now;
  const validate = options.validate ?? validateArtifact;
  const state = createRegistryState();
  const listeners = new Set<(event: ModelEvent) => void>();
  // Wakes every waiting watcher (on close, so their streams end).
  const wakers = new Set<() => void>();
  const m = options.metrics;
  const eventsTotal = m?.counter("loopline_registry_events_total", "Model events applied", ["type"]);
  const registrations = m?.counter("loopline_registry_registrations_total", "Versions registered", ["status"]);
  const registerSeconds = m?.histogram("loopline_registry_register_seconds", "Time to validate, store and record a version");
  const sequenceGauge = m?.gauge("loopline_registry_last_sequence", "Sequence of the last applied model event");
  const watchers = m?.gauge("loopline_registry_watchers", "Open WatchChanges streams");
  let ready = false;
  let closed = false;
  let resyncNeeded = false;
  // Writes are serialised through this chain: one decision, publish and apply at a time (one writer).
  let writes: Promise<unknown> = Promise.resolve();

  const apply = (event: ModelEvent) => {
    let applied: boolean;
    try {
      applied = applyEvent(state, event);
    } catch (err) {
      if (!(err instanceof EventOrderError)) throw err;
      logger.error("event does not fit the registry state; skipped", { sequence: event.sequence.toString(), err });
      return;
    }
    if (!applied) return;
    eventsTotal?.inc({ type: ModelEventType[event.type] ?? String(event.type) });
    sequenceGauge?.set(Number(event.sequence));
    for (const listener of listeners) listener(event);
  };

  const requireReady = () => {
    if (!ready || closed) throw new RegistryError("UNAVAILABLE", "the registry is not ready (replaying loopline.models or shutting down)");
  };

  /** Runs decide → publish → apply under the write lock; returns the applied events. */
  const commit = <T>(actor: string, decide: () => { drafts: EventDraft[]; result: () => T }): Promise<T> => {
    const run = async (): Promise<T> => {
      requireReady();
      if (resyncNeeded) {
        // A publish failed: it may still have been written. Read the log to its end before deciding again.
        await log.catchUp(options.resyncTimeoutMs ?? 30_000);
        resyncNeeded = false;
      }
      const { drafts, result } = decide();
      if (drafts.length === 0) return result();
      const events = stampEvents(drafts, state.lastSequence, BigInt(now()), actor === "" ? "unknown" : actor);
      try {
        await log.publish(events);
      } catch (err) {
        resyncNeeded = true;
        throw new RegistryError("UNAVAILABLE", `kafka did not acknowledge the change: ${(err as Error).message}`, { cause: err });
      }
      for (const event of events) apply(event);
      return result();
    };
    const next = writes.then(run, run);
    writes = next.catch(() => undefined);
    return next;
  };

  const versionOf = (model: string, version: string) => resolveVersion(state, model, version, "");

  return {
    async start() {
      await log.start((events) => {
        for (const event of events) apply(event);
      });
      ready = true;
      logger.info("registry ready", { models: state.models.size, lastSequence: state.lastSequence.toString() });
    },
    isReady: () => ready && !closed,

    async register(request, artifact) {
      requireReady();
      const started = performance.now();
      checkModelName(request.model);
      const signature = checkSignature(request.signature);
      if (artifact.length === 0) throw invalidArgument("chunk", "no ONNX bytes were sent");
      if (request.referenceProfile.length > MAX_REFERENCE_PROFILE_BYTES) {
        throw invalidArgument("reference_profile", `${request.referenceProfile.length} bytes is above the ${MAX_REFERENCE_PROFILE_BYTES}-byte limit`);
      }
      for (const [name, value] of Object.entries(request.metrics)) {
        if (!Number.isFinite(value)) throw invalidArgument(`metrics.${name}`, "must be finite");
      }
      // Validation and storage run outside the write lock: only the version number needs it.
      const validation = await validate(artifact, signature, request.referenceProfile);
      const stored = await store.put(artifact);
      const version = await commit(request.actor, () => {
        const draft = decideRegistration(state, {
          ...request,
          signature,
          artifactSha256: stored.sha256,
          artifactSize: BigInt(stored.size),
          validation,
        });
        return { drafts: [draft], result: () => versionOf(draft.model, draft.version) };
      });
      registrations?.inc({ status: validation.ok ? "ready" : "rejected" });
      registerSeconds?.observe((performance.now() - started) / 1000);
      logger.info(validation.ok ? "version registered" : "version rejected", { model: version.model, version: version.version, reason: version.statusReason, sha256: stored.sha256 });
      return { version, deduplicated: stored.deduplicated };
    },

    transition: (input, actor) =>
      commit(actor, () => {
        const { drafts, previousProduction } = decideTransition(state, input);
        return { drafts, result: () => ({ version: versionOf(input.model, input.version), previousProduction }) };
      }),

    rollback: (input, actor) =>
      commit(actor, () => {
        const { drafts, rolledBack, target } = decideRollback(state, input);
        return { drafts, result: () => ({ production: versionOf(input.model, target), rolledBack }) };
      }),

    setAlias: (input, actor) => commit(actor, () => ({ drafts: decideSetAlias(state, input), result: () => versionOf(input.model, input.version) })),
    deleteAlias: (input, actor) => commit(actor, () => ({ drafts: decideDeleteAlias(state, input), result: () => undefined })),
    setTags: (input, actor) => commit(actor, () => ({ drafts: decideSetTags(state, input), result: () => versionOf(input.model, input.version) })),
    setServingConfig: (input, actor) => commit(actor, () => ({ drafts: decideServingConfig(state, input), result: () => versionOf(input.model, input.version) })),

    getModel: (name) => modelSummary(requireModel(state, name)),
    listModels: () => [...state.models.values()].sort((a, b) => a.name.localeCompare(b.name)).map(modelSummary),
    getVersion: (model, version, alias) => resolveVersion(state, model, version, alias),
    listVersions: (query) => listVersions(state, query),
    history: (model, version) => history(state, model, version),
    async artifact(model, version) {
      const v = versionOf(model, version);
      return { sha256: v.artifactSha256, bytes: await store.get(v.artifactSha256) };
    },

    async *watch(fromSequence, model, signal) {
      const backlog: ModelEvent[] = [];
      let wake: (() => void) | undefined;
      let overflow = false;
      const listener = (event: ModelEvent) => {
        if (model !== "" && event.model !== model) return;
        if (backlog.length >= MAX_WATCH_BACKLOG) overflow = true;
        else backlog.push(event);
        wake?.();
      };
      // Subscribing and copying the history happen in the same tick: nothing falls between them.
      listeners.add(listener);
      const past = state.events.filter((e) => e.sequence >= fromSequence && (model === "" || e.model === model));
      watchers?.inc();
      const onAbort = () => wake?.();
      signal.addEventListener("abort", onAbort);
      wakers.add(onAbort);
      try {
        yield* past;
        while (!signal.aborted && !closed) {
          const event = backlog.shift();
          if (event !== undefined) {
            yield event;
            continue;
          }
          if (overflow) throw new RegistryError("ABORTED", "watcher fell too far behind; watch again from the last sequence received");
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        listeners.delete(listener);
        wakers.delete(onAbort);
        signal.removeEventListener("abort", onAbort);
        watchers?.dec();
      }
    },

    lastSequence: () => state.lastSequence,

    async close() {
      closed = true;
      for (const wakeWatcher of wakers) wakeWatcher();
      await writes;
      await log.close();
    },
  };
}
