import { Stage, VersionStatus } from "@loopline/proto/gen/loopline/v1/registry_pb.js";

/** Lower-case stage names as users type them (CLI, docs): candidate, shadow, canary, production, archived. */
export const STAGE_NAMES: Readonly<Record<Exclude<Stage, Stage.UNSPECIFIED>, string>> = {
  [Stage.CANDIDATE]: "candidate",
  [Stage.SHADOW]: "shadow",
  [Stage.CANARY]: "canary",
  [Stage.PRODUCTION]: "production",
  [Stage.ARCHIVED]: "archived",
};

/** The name of a stage, "unspecified" for 0. */
export function stageName(stage: Stage): string {
  return stage === Stage.UNSPECIFIED ? "unspecified" : (STAGE_NAMES[stage] ?? `stage ${String(stage)}`);
}

/** Parses a stage name ("canary", "STAGE_CANARY", case-insensitive); undefined when unknown. */
export function parseStage(text: string): Stage | undefined {
  const name = text.trim().toLowerCase().replace(/^stage_/, "");
  for (const [value, stageText] of Object.entries(STAGE_NAMES)) {
    if (stageText === name) return Number(value) as Stage;
  }
  return undefined;
}

/**
 * Where TransitionStage may move a version. Skipping forward is allowed (a retrain may go straight
 * from candidate to canary, an operator straight to production); moving back to candidate or shadow
 * re-runs a rollout. Production has no outgoing edge: a champion leaves only when another version is
 * promoted (it is archived in the same change) or by Rollback, so a model never loses its champion
 * by accident. Archived versions may re-enter a rollout; putting one straight back into production
 * is what Rollback is for (it records the incident as such).
 */
export const TRANSITIONS: Readonly<Record<Exclude<Stage, Stage.UNSPECIFIED>, readonly Stage[]>> = {
  [Stage.CANDIDATE]: [Stage.SHADOW, Stage.CANARY, Stage.PRODUCTION, Stage.ARCHIVED],
  [Stage.SHADOW]: [Stage.CANDIDATE, Stage.CANARY, Stage.PRODUCTION, Stage.ARCHIVED],
  [Stage.CANARY]: [Stage.CANDIDATE, Stage.SHADOW, Stage.PRODUCTION, Stage.ARCHIVED],
  [Stage.PRODUCTION]: [],
  [Stage.ARCHIVED]: [Stage.CANDIDATE, Stage.SHADOW, Stage.CANARY],
};

/** Stages in which a version receives traffic (mirrored or real): never reached by a REJECTED version. */
export const SERVING_STAGES: readonly Stage[] = [Stage.SHADOW, Stage.CANARY, Stage.PRODUCTION];

/** Why a transition is not allowed, or undefined when it is. Pure: the graph plus the REJECTED rule. */
export function transitionProblem(from: Stage, to: Stage, status: VersionStatus): string | undefined {
  if (from === Stage.UNSPECIFIED || to === Stage.UNSPECIFIED) return "the stage must be specified";
  if (status === VersionStatus.REJECTED && SERVING_STAGES.includes(to)) {
    return `a REJECTED version can never reach ${stageName(to)}`;
  }
  if (from === to) return `the version is already in ${stageName(to)}`;
  const allowed = TRANSITIONS[from];
  if (allowed.includes(to)) return undefined;
  if (from === Stage.PRODUCTION) {
    return "the production version cannot be moved directly: promote another version (it is archived in the same change) or roll back";
  }
  if (to === Stage.PRODUCTION) return "an archived version returns to production only through rollback";
  return `cannot move from ${stageName(from)} to ${stageName(to)} (allowed: ${allowed.map(stageName).join(", ")})`;
}
