import { toJson } from "@bufbuild/protobuf";
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
import { table } from "./commands.js";

/** "production" for Stage.PRODUCTION, "-" for unspecified. */
export function stageText(stage: Stage): string {
  return stage === Stage.UNSPECIFIED ? "-" : (Stage[stage] ?? String(stage)).toLowerCase();
}

/** "ready" / "rejected". */
export function statusText(status: VersionStatus): string {
  return status === VersionStatus.UNSPECIFIED ? "-" : (VersionStatus[status] ?? String(status)).toLowerCase();
}

/** Epoch ms as "2025-01-31 12:00:00Z"; "-" for 0. */
export function timeText(ms: bigint): string {
  return ms === 0n ? "-" : `${new Date(Number(ms)).toISOString().slice(0, 19).replace("T", " ")}Z`;
}

/** Metrics as "auc=0.91 log_loss=0.3", sorted by name. */
export function metricsText(metrics: Record<string, number>): string {
  return Object.keys(metrics).sort().map((k) => `${k}=${String(metrics[k])}`).join(" ");
}

/** The models table of `loopline models list`. */
export function modelsTable(models: readonly Model[]): string {
  return table(
    ["MODEL", "PRODUCTION", "LATEST", "VERSIONS", "ALIASES"],
    models.map((m) => [m.name, m.productionVersion || "-", m.latestVersion || "-", String(m.versionCount), Object.entries(m.aliases).sort().map(([a, v]) => `${a}→${v}`).join(" ")]),
  );
}

/** The versions table of `loopline models show MODEL`. */
export function versionsTable(versions: readonly ModelVersion[]): string {
  return table(
    ["VERSION", "STAGE", "STATUS", "ALIASES", "CREATED", "SHA256", "METRICS"],
    versions.map((v) => [v.version, stageText(v.stage), statusText(v.status), v.aliases.join(",") || "-", timeText(v.createdAtMs), v.artifactSha256.slice(0, 12), metricsText(v.metrics)]),
  );
}

/** One version as "key: value" lines for `loopline models show MODEL VERSION`. */
export function versionDetails(v: ModelVersion): string {
  const s = v.signature;
  const lines: [string, string][] = [
    ["model", v.model],
    ["version", v.version],
    ["stage", stageText(v.stage)],
    ["status", statusText(v.status) + (v.statusReason !== "" ? ` (${v.statusReason})` : "")],
    ["validation", v.validationSummary || "-"],
    ["aliases", v.aliases.join(", ") || "-"],
    ["description", v.description || "-"],
    ["artifact", `sha256:${v.artifactSha256} (${v.artifactSize} bytes)`],
    ["input", s === undefined ? "-" : `${s.inputTensor}: ${s.inputs.map((i) => i.featureRef + (i.categories.length > 0 ? `[${i.categories.join("|")}]` : "")).join(", ")}`],
    ["score", s === undefined ? "-" : `${s.scoreOutput}[:, ${s.scoreIndex}] in [${s.scoreMin}, ${s.scoreMax}], threshold ${s.threshold}`],
    ["metrics", metricsText(v.metrics) || "-"],
    ["tags", Object.entries(v.tags).sort().map(([k, val]) => `${k}=${val}`).join(" ") || "-"],
    ["lineage", v.lineage === undefined ? "-" : [v.lineage.source, v.lineage.runId && `run ${v.lineage.runId}`, v.lineage.parentVersion && `parent ${v.lineage.parentVersion}`].filter((x) => x).join(", ") || "-"],
    ["created", timeText(v.createdAtMs)],
    ["updated", `${timeText(v.updatedAtMs)} (sequence ${v.lastSequence})`],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, val]) => `${k.padEnd(width)}  ${val}`).join("\n");
}

/** The history table of `loopline models history MODEL`. */
export function historyTable(events: readonly ModelEvent[]): string {
  return table(
    ["SEQ", "TIME", "EVENT", "VERSION", "CHANGE", "ACTOR", "REASON"],
    events.map((e) => {
      const type = (ModelEventType[e.type] ?? String(e.type)).toLowerCase();
      const change = e.alias !== "" ? `alias ${e.alias}` : e.fromStage === e.toStage ? "" : `${stageText(e.fromStage)} → ${stageText(e.toStage)}`;
      return [e.sequence.toString(), timeText(e.timeMs), type, e.version, change, e.actor, e.reason];
    }),
  );
}

/** Proto3 JSON of registry messages, for --json. */
export const json = {
  model: (m: Model) => toJson(ModelSchema, m),
  version: (v: ModelVersion) => toJson(ModelVersionSchema, v),
  event: (e: ModelEvent) => toJson(ModelEventSchema, e),
};
