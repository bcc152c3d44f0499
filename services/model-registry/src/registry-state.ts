import { clone, create } from "@bufbuild/protobuf";
import {
  ModelEventSchema,
  ModelEventType,
  ModelSchema,
  ModelVersionSchema,
  Stage,
  VersionStatus,
  type Model,
  type ModelEvent,
  type ModelVersion,
} from "@loopline/proto/gen/loopline/v1/registry_pb.js";

// The registry's state is a fold of its events: applyEvent is the only function that changes it,
// the same code runs when a write is acknowledged and when the topic is replayed at start-up.

/** One stint of a version in production; how it ended decides whether it counts as known-good. */
export interface ProductionTenure {
  /** The version that was production. */
  version: string;
  /** Sequence of the event that put it there. */
  fromSequence: bigint;
  /** "replaced" (another version was promoted), "rolled-back" (an incident), or undefined while current. */
  ended?: "replaced" | "rolled-back";
}

/** One model's state. */
export interface ModelState {
  name: string;
  createdAtMs: bigint;
  /** Versions by number. */
  versions: Map<string, ModelVersion>;
  /** Version numbers in registration order ("1", "2", ...). */
  order: string[];
  /** Alias → version. */
  aliases: Map<string, string>;
  /** The version in production, undefined before the first promotion. */
  production: string | undefined;
  /** Every production stint, oldest first. */
  tenures: ProductionTenure[];
}

/** The whole registry: models plus the ordered event log (the history and the change feed). */
export interface RegistryState {
  models: Map<string, ModelState>;
  events: ModelEvent[];
  /** Sequence of the last applied event; 0 when empty. */
  lastSequence: bigint;
}

/** An empty registry. */
export function createRegistryState(): RegistryState {
  return { models: new Map(), events: [], lastSequence: 0n };
}

/** Why an event cannot follow the state (a corrupt or foreign log); the caller decides what to do. */
export class EventOrderError extends Error {
  override name = "EventOrderError";
}

/**
 * Applies one event. Returns false (state unchanged) for an event already applied (sequence at or
 * below lastSequence), which makes replays and the echo of the registry's own writes harmless.
 */
export function applyEvent(state: RegistryState, event: ModelEvent): boolean {
  if (event.sequence <= state.lastSequence) return false;
  const snapshot = event.snapshot;
  if (snapshot === undefined || snapshot.model !== event.model || snapshot.version !== event.version) {
    throw new EventOrderError(`event ${event.sequence}: the snapshot does not describe ${event.model}/${event.version}`);
  }
  let model = state.models.get(event.model);
  if (model === undefined) {
    if (event.type !== ModelEventType.VERSION_REGISTERED && event.type !== ModelEventType.VERSION_REJECTED) {
      throw new EventOrderError(`event ${event.sequence}: model ${event.model} changed before it was registered`);
    }
    model = { name: event.model, createdAtMs: event.timeMs, versions: new Map(), order: [], aliases: new Map(), production: undefined, tenures: [] };
    state.models.set(event.model, model);
  }
  const before = model.versions.get(event.version);
  if (before === undefined) model.order.push(event.version);
  model.versions.set(event.version, clone(ModelVersionSchema, snapshot));

  const wasProduction = before?.stage === Stage.PRODUCTION;
  const isProduction = snapshot.stage === Stage.PRODUCTION;
  if (!wasProduction && isProduction) {
    model.production = event.version;
    model.tenures.push({ version: event.version, fromSequence: event.sequence });
  } else if (wasProduction && !isProduction) {
    if (model.production === event.version) model.production = undefined;
    const tenure = model.tenures.findLast((t) => t.version === event.version && t.ended === undefined);
    if (tenure !== undefined) tenure.ended = event.type === ModelEventType.ROLLED_BACK ? "rolled-back" : "replaced";
  }
  if (event.type === ModelEventType.ALIAS_SET) model.aliases.set(event.alias, event.version);
  if (event.type === ModelEventType.ALIAS_DELETED && model.aliases.get(event.alias) === event.version) model.aliases.delete(event.alias);

  state.events.push(event);
  state.lastSequence = event.sequence;
  return true;
}

/** An event before the writer gives it a sequence, a time and an actor. */
export type EventDraft = Pick<ModelEvent, "type" | "model" | "version" | "fromStage" | "toStage" | "reason" | "evidenceJson" | "alias"> & {
  snapshot: ModelVersion;
};

/** Turns drafts into events with consecutive sequences after `lastSequence`; snapshots get last_sequence and updated_at_ms. */
export function stampEvents(drafts: readonly EventDraft[], lastSequence: bigint, timeMs: bigint, actor: string): ModelEvent[] {
  return drafts.map((draft, i) => {
    const sequence = lastSequence + BigInt(i + 1);
    const snapshot = clone(ModelVersionSchema, draft.snapshot);
    snapshot.lastSequence = sequence;
    snapshot.updatedAtMs = timeMs;
    if (snapshot.createdAtMs === 0n) snapshot.createdAtMs = timeMs;
    return create(ModelEventSchema, { ...draft, sequence, timeMs, actor, snapshot });
  });
}

/** The Model message for a model's state. */
export function modelSummary(model: ModelState): Model {
  const latest = model.order.at(-1) ?? "";
  const withDescription = model.order.map((v) => model.versions.get(v)?.description ?? "").findLast((d) => d !== "");
  return create(ModelSchema, {
    name: model.name,
    description: withDescription ?? "",
    productionVersion: model.production ?? "",
    latestVersion: latest,
    aliases: Object.fromEntries(model.aliases),
    createdAtMs: model.createdAtMs,
    versionCount: model.order.length,
  });
}

/** Every invariant the registry promises, as messages; empty when all hold (tests call it after every step). */
export function invariantViolations(state: RegistryState): string[] {
  const problems: string[] = [];
  for (const model of state.models.values()) {
    const inProduction = [...model.versions.values()].filter((v) => v.stage === Stage.PRODUCTION).map((v) => v.version);
    if (inProduction.length > 1) problems.push(`${model.name}: ${inProduction.length} production versions (${inProduction.join(", ")})`);
    if ((model.production ?? "") !== (inProduction[0] ?? "")) problems.push(`${model.name}: production pointer ${model.production ?? "none"} ≠ ${inProduction[0] ?? "none"}`);
    for (const v of model.versions.values()) {
      if (v.status === VersionStatus.REJECTED && v.stage !== Stage.CANDIDATE && v.stage !== Stage.ARCHIVED) {
        problems.push(`${model.name}/${v.version}: REJECTED but in stage ${Stage[v.stage]}`);
      }
      const aliasesHere = [...model.aliases].filter(([, version]) => version === v.version).map(([alias]) => alias).sort();
      if (aliasesHere.join(",") !== [...v.aliases].sort().join(",")) problems.push(`${model.name}/${v.version}: aliases ${v.aliases.join(",")} ≠ ${aliasesHere.join(",")}`);
    }
  }
  return problems;
}
