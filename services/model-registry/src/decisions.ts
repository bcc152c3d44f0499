import { clone, create } from "@bufbuild/protobuf";
import {
  ModelEventType,
  ModelVersionSchema,
  ServingConfigSchema,
  Stage,
  VersionStatus,
  type Lineage,
  type ModelSignature,
  type ModelVersion,
  type ServingConfig,
} from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { RegistryError, invalidArgument } from "./errors.js";
import type { EventDraft, ModelState, RegistryState } from "./registry-state.js";
import { stageName, transitionProblem } from "./transitions.js";

// Pure decisions: given the state and a request, the events that carry it out, or a RegistryError.
// No I/O here, so every rule is unit-tested exhaustively; the writer publishes what these return.

/** Model names: letters, digits, ".", "_", "-"; no "/" because the record key is "<model>/<sequence>". */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Alias names: lower-case words such as champion, challenger, blue-2025. */
export const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
/** Aliases resolved by the registry itself, never set by users. */
export const RESERVED_ALIASES: readonly string[] = ["production", "latest"];

/** Checks a model name; throws INVALID_ARGUMENT naming the field. */
export function checkModelName(name: string, field = "model"): void {
  if (name === "") throw invalidArgument(field, "is required");
  if (!MODEL_NAME.test(name)) throw invalidArgument(field, `${JSON.stringify(name)} must match ${String(MODEL_NAME)}`);
}

/** The model, or NOT_FOUND. */
export function requireModel(state: RegistryState, name: string): ModelState {
  checkModelName(name);
  const model = state.models.get(name);
  if (model === undefined) throw new RegistryError("NOT_FOUND", `model ${name} not found`);
  return model;
}

/** The version, or NOT_FOUND. */
export function requireVersion(model: ModelState, version: string, field = "version"): ModelVersion {
  if (version === "") throw invalidArgument(field, "is required");
  const found = model.versions.get(version);
  if (found === undefined) throw new RegistryError("NOT_FOUND", `model ${model.name} has no version ${version}`);
  return found;
}

/** Resolves a version number or an alias ("production" and "latest" are built in). */
export function resolveVersion(state: RegistryState, modelName: string, version: string, alias: string): ModelVersion {
  const model = requireModel(state, modelName);
  if (version !== "") return requireVersion(model, version);
  if (alias === "") throw invalidArgument("version", "a version or an alias is required");
  const target = alias === "production" ? model.production : alias === "latest" ? model.order.at(-1) : model.aliases.get(alias);
  if (target === undefined) throw new RegistryError("NOT_FOUND", `model ${modelName} has no ${alias === "production" ? "production version" : `alias ${alias}`}`);
  return requireVersion(model, target);
}

function checkEvidence(evidenceJson: string): void {
  if (evidenceJson === "") return;
  try {
    JSON.parse(evidenceJson);
  } catch {
    throw invalidArgument("evidence_json", "is not valid JSON");
  }
}

function withStage(version: ModelVersion, stage: Stage): ModelVersion {
  const next = clone(ModelVersionSchema, version);
  next.stage = stage;
  return next;
}

function stageDraft(type: ModelEventType, version: ModelVersion, to: Stage, reason: string, evidenceJson: string): EventDraft {
  return { type, model: version.model, version: version.version, fromStage: version.stage, toStage: to, reason, evidenceJson, alias: "", snapshot: withStage(version, to) };
}

/** What validation concluded about an uploaded artifact. */
export interface ValidationOutcome {
  /** True when the version may be promoted. */
  ok: boolean;
  /** Why not (REJECTED only). */
  reason: string;
  /** What was checked. */
  summary: string;
}

/** A registration after the upload: everything the new version is made of. */
export interface RegistrationInput {
  model: string;
  description: string;
  signature: ModelSignature;
  lineage: Lineage | undefined;
  metrics: Record<string, number>;
  referenceProfile: Uint8Array;
  tags: Record<string, string>;
  serving: ServingConfig | undefined;
  artifactSha256: string;
  artifactSize: bigint;
  validation: ValidationOutcome;
}

/** Registers the next version number of a model (creating the model) as READY or REJECTED. */
export function decideRegistration(state: RegistryState, input: RegistrationInput): EventDraft {
  checkModelName(input.model);
  const model = state.models.get(input.model);
  const version = String((model?.order.length ?? 0) + 1);
  const status = input.validation.ok ? VersionStatus.READY : VersionStatus.REJECTED;
  const snapshot = create(ModelVersionSchema, {
    model: input.model,
    version,
    status,
    statusReason: input.validation.ok ? "" : input.validation.reason,
    validationSummary: input.validation.summary,
    stage: Stage.CANDIDATE,
    signature: input.signature,
    metrics: input.metrics,
    referenceProfile: input.referenceProfile,
    tags: input.tags,
    aliases: [],
    artifactSha256: input.artifactSha256,
    artifactSize: input.artifactSize,
    serving: input.serving ?? create(ServingConfigSchema, {}),
    description: input.description,
    ...(input.lineage !== undefined ? { lineage: input.lineage } : {}),
  });
  return {
    type: input.validation.ok ? ModelEventType.VERSION_REGISTERED : ModelEventType.VERSION_REJECTED,
    model: input.model,
    version,
    fromStage: Stage.UNSPECIFIED,
    toStage: Stage.CANDIDATE,
    reason: input.validation.ok ? "registered" : input.validation.reason,
    evidenceJson: "",
    alias: "",
    snapshot,
  };
}

/** A stage change as requested. */
export interface TransitionInput {
  model: string;
  version: string;
  toStage: Stage;
  expectedStage: Stage;
  /** "" = not checked. */
  expectedProductionVersion: string;
  reason: string;
  evidenceJson: string;
}

/** Moves a version; promoting to production archives the previous champion in the same change. */
export function decideTransition(state: RegistryState, input: TransitionInput): { drafts: EventDraft[]; previousProduction: string } {
  const model = requireModel(state, input.model);
  const version = requireVersion(model, input.version);
  if (input.toStage === Stage.UNSPECIFIED || Stage[input.toStage] === undefined) throw invalidArgument("to_stage", "a target stage is required");
  if (input.expectedStage === Stage.UNSPECIFIED) throw invalidArgument("expected_stage", "is required: the stage you believe the version is in");
  checkEvidence(input.evidenceJson);
  if (version.stage !== input.expectedStage) {
    throw new RegistryError(
      "FAILED_PRECONDITION",
      `${model.name}/${version.version} is in ${stageName(version.stage)}, not ${stageName(input.expectedStage)} (expected_stage): someone changed it first`,
    );
  }
  const problem = transitionProblem(version.stage, input.toStage, version.status);
  if (problem !== undefined) {
    const why = version.status === VersionStatus.REJECTED && version.statusReason !== "" ? ` (rejected at registration: ${version.statusReason})` : "";
    throw new RegistryError("FAILED_PRECONDITION", `${model.name}/${version.version}: ${problem}${why}`);
  }
  const drafts: EventDraft[] = [];
  let previousProduction = "";
  if (input.toStage === Stage.PRODUCTION) {
    const current = model.production ?? "";
    if (input.expectedProductionVersion !== "" && input.expectedProductionVersion !== current) {
      throw new RegistryError(
        "ABORTED",
        `${model.name}: production is ${current === "" ? "empty" : `version ${current}`}, not version ${input.expectedProductionVersion} (expected_production_version): a concurrent promotion won`,
      );
    }
    if (current !== "") {
      previousProduction = current;
      // Archive first, then promote: after every single event at most one version is in production.
      const old = requireVersion(model, current);
      drafts.push(stageDraft(ModelEventType.STAGE_CHANGED, old, Stage.ARCHIVED, `replaced by version ${version.version}${input.reason === "" ? "" : `: ${input.reason}`}`, input.evidenceJson));
    }
  }
  drafts.push(stageDraft(ModelEventType.STAGE_CHANGED, version, input.toStage, input.reason, input.evidenceJson));
  return { drafts, previousProduction };
}

/** A rollback as requested. */
export interface RollbackInput {
  model: string;
  /** "" = the last known-good production version. */
  toVersion: string;
  reason: string;
  evidenceJson: string;
}

/**
 * The last known-good champion: the most recent earlier production version whose latest stint
 * ended because another version was promoted. A version whose latest stint ended in a rollback is
 * suspect and skipped, so repeated rollbacks walk further back instead of ping-ponging.
 */
export function lastKnownGood(model: ModelState): string | undefined {
  const judged = new Set<string>();
  for (let i = model.tenures.length - 1; i >= 0; i--) {
    const tenure = model.tenures[i] as (typeof model.tenures)[number];
    if (judged.has(tenure.version)) continue;
    judged.add(tenure.version);
    if (tenure.version === model.production || tenure.ended !== "replaced") continue;
    const v = model.versions.get(tenure.version);
    if (v !== undefined && v.status === VersionStatus.READY) return tenure.version;
  }
  return undefined;
}

/** Swaps production back: the current champion is archived, the target becomes production, in one change. */
export function decideRollback(state: RegistryState, input: RollbackInput): { drafts: EventDraft[]; rolledBack: string; target: string } {
  const model = requireModel(state, input.model);
  if (input.reason.trim() === "") throw invalidArgument("reason", "is required for a rollback");
  checkEvidence(input.evidenceJson);
  const current = model.production;
  if (current === undefined) throw new RegistryError("FAILED_PRECONDITION", `${model.name} has no production version to roll back`);
  let target: string;
  if (input.toVersion !== "") {
    const v = requireVersion(model, input.toVersion, "to_version");
    if (v.version === current) throw new RegistryError("FAILED_PRECONDITION", `${model.name}/${v.version} is already in production`);
    if (v.status !== VersionStatus.READY) {
      throw new RegistryError("FAILED_PRECONDITION", `${model.name}/${v.version} was rejected at registration (${v.statusReason}); it can never be promoted`);
    }
    target = v.version;
  } else {
    const found = lastKnownGood(model);
    if (found === undefined) throw new RegistryError("FAILED_PRECONDITION", `${model.name} has no earlier known-good production version to roll back to`);
    target = found;
  }
  const from = requireVersion(model, current);
  const to = requireVersion(model, target);
  return {
    drafts: [
      stageDraft(ModelEventType.ROLLED_BACK, from, Stage.ARCHIVED, input.reason, input.evidenceJson),
      stageDraft(ModelEventType.ROLLED_BACK, to, Stage.PRODUCTION, input.reason, input.evidenceJson),
    ],
    rolledBack: current,
    target,
  };
}

function checkAlias(alias: string): void {
  if (alias === "") throw invalidArgument("alias", "is required");
  if (!ALIAS_NAME.test(alias)) throw invalidArgument("alias", `${JSON.stringify(alias)} must match ${String(ALIAS_NAME)}`);
  if (RESERVED_ALIASES.includes(alias)) throw invalidArgument("alias", `${alias} is resolved by the registry and cannot be set`);
}

function withAliases(version: ModelVersion, aliases: string[]): ModelVersion {
  const next = clone(ModelVersionSchema, version);
  next.aliases = aliases;
  return next;
}

function aliasDraft(type: ModelEventType, version: ModelVersion, alias: string, aliases: string[]): EventDraft {
  return { type, model: version.model, version: version.version, fromStage: version.stage, toStage: version.stage, reason: "", evidenceJson: "", alias, snapshot: withAliases(version, aliases) };
}

/** Points an alias at a version, moving it off the version that had it. No events when it already points there. */
export function decideSetAlias(state: RegistryState, input: { model: string; alias: string; version: string }): EventDraft[] {
  const model = requireModel(state, input.model);
  checkAlias(input.alias);
  const version = requireVersion(model, input.version);
  if (version.status === VersionStatus.REJECTED) {
    throw new RegistryError("FAILED_PRECONDITION", `${model.name}/${version.version} was rejected at registration; an alias cannot point at it`);
  }
  const holder = model.aliases.get(input.alias);
  if (holder === version.version) return [];
  const drafts: EventDraft[] = [];
  if (holder !== undefined) {
    const old = requireVersion(model, holder);
    drafts.push(aliasDraft(ModelEventType.ALIAS_DELETED, old, input.alias, old.aliases.filter((a) => a !== input.alias)));
  }
  drafts.push(aliasDraft(ModelEventType.ALIAS_SET, version, input.alias, [...version.aliases, input.alias].sort()));
  return drafts;
}

/** Removes an alias; NOT_FOUND when the model has no such alias. */
export function decideDeleteAlias(state: RegistryState, input: { model: string; alias: string }): EventDraft[] {
  const model = requireModel(state, input.model);
  if (input.alias === "") throw invalidArgument("alias", "is required");
  const holder = model.aliases.get(input.alias);
  if (holder === undefined) throw new RegistryError("NOT_FOUND", `model ${model.name} has no alias ${input.alias}`);
  const version = requireVersion(model, holder);
  return [aliasDraft(ModelEventType.ALIAS_DELETED, version, input.alias, version.aliases.filter((a) => a !== input.alias))];
}

/** Sets and removes tags of a version. */
export function decideSetTags(state: RegistryState, input: { model: string; version: string; tags: Record<string, string>; remove: readonly string[] }): EventDraft[] {
  const model = requireModel(state, input.model);
  const version = requireVersion(model, input.version);
  for (const key of [...Object.keys(input.tags), ...input.remove]) {
    if (key.trim() === "" || key.includes("=")) throw invalidArgument("tags", `key ${JSON.stringify(key)} must be non-empty and contain no "="`);
  }
  const next = clone(ModelVersionSchema, version);
  for (const key of input.remove) delete next.tags[key];
  Object.assign(next.tags, input.tags);
  return [{ type: ModelEventType.TAGS_SET, model: model.name, version: version.version, fromStage: version.stage, toStage: version.stage, reason: "", evidenceJson: "", alias: "", snapshot: next }];
}

/** Replaces a version's serving config (canary share, batching). */
export function decideServingConfig(state: RegistryState, input: { model: string; version: string; serving?: ServingConfig | undefined }): EventDraft[] {
  const model = requireModel(state, input.model);
  const version = requireVersion(model, input.version);
  const serving = input.serving ?? create(ServingConfigSchema, {});
  if (!Number.isFinite(serving.canaryPercent) || serving.canaryPercent < 0 || serving.canaryPercent > 100) {
    throw invalidArgument("serving.canary_percent", `${serving.canaryPercent} is not within 0–100`);
  }
  const next = clone(ModelVersionSchema, version);
  next.serving = clone(ServingConfigSchema, serving);
  return [{ type: ModelEventType.SERVING_CONFIG_SET, model: model.name, version: version.version, fromStage: version.stage, toStage: version.stage, reason: "", evidenceJson: "", alias: "", snapshot: next }];
}
