// What the monitor needs to know about a model version, read once from the registry: the features of its
// signature, its decision threshold, and the reference profile columns drift is measured against.
import { profileFromJson, type ColumnKind, type ColumnProfile, type ReferenceProfile } from "@loopline/drift";
import { InputEncoding, type ModelVersion } from "@loopline/proto/gen/loopline/v1/registry_pb.js";

/** Name of the reference profile column holding the training scores (prediction drift). */
export const SCORE_COLUMN = "score";

/** A monitored feature and how it is compared. */
export interface MonitoredFeature {
  /** Feature ref, e.g. "card_txn:amount". */
  readonly ref: string;
  /** From the reference profile when it has the column, else ONE_HOT inputs are categorical, others numerical. */
  readonly kind: ColumnKind;
  /** The feature's reference column; undefined when the profile lacks it (reported with a note, not tested). */
  readonly reference: ColumnProfile | undefined;
}

/** A model version as monitored. */
export interface MonitoredVersion {
  readonly model: string;
  readonly version: string;
  /** Decision threshold of accuracy, precision and recall (the signature's). */
  readonly threshold: number;
  /** Signature features, in signature order, each once. */
  readonly features: readonly MonitoredFeature[];
  /** The reference column of the score; undefined when there is none (prediction drift is skipped with a note). */
  readonly scoreReference: ColumnProfile | undefined;
  /** Why the version's reference profile cannot be used at all; "" when it can. */
  readonly profileProblem: string;
  /** Offline AUC recorded at registration (metrics["auc"]), for comparison with the live one. */
  readonly referenceAuc: number | undefined;
}

function readProfile(bytes: Uint8Array): { profile?: ReferenceProfile; problem: string } {
  if (bytes.length === 0) return { problem: "the version has no reference profile" };
  try {
    return { profile: profileFromJson(JSON.parse(Buffer.from(bytes).toString("utf8"))), problem: "" };
  } catch (err) {
    return { problem: `the reference profile is not a @loopline/drift profile (${err instanceof Error ? err.message : String(err)})` };
  }
}

/** Builds the monitored view of a registry version; never throws (an unusable profile is a problem string). */
export function monitoredVersion(v: ModelVersion): MonitoredVersion {
  const { profile, problem } = readProfile(v.referenceProfile);
  const columns = new Map((profile?.columns ?? []).map((c) => [c.name, c]));
  const features: MonitoredFeature[] = [];
  for (const input of v.signature?.inputs ?? []) {
    if (features.some((f) => f.ref === input.featureRef)) continue;
    const reference = columns.get(input.featureRef);
    const kind: ColumnKind = reference?.kind ?? (input.encoding === InputEncoding.ONE_HOT ? "categorical" : "numerical");
    features.push({ ref: input.featureRef, kind, reference });
  }
  const score = columns.get(SCORE_COLUMN);
  return {
    model: v.model,
    version: v.version,
    threshold: v.signature?.threshold ?? 0.5,
    features,
    scoreReference: score?.kind === "numerical" ? score : undefined,
    profileProblem: problem,
    referenceAuc: v.metrics["auc"],
  };
}
