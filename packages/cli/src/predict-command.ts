import { toJson } from "@bufbuild/protobuf";
import { defineConfig, loadConfig } from "@loopline/kit";
import { createClient, toFeatureValue } from "@loopline/proto";
import { Inference, PredictBatchResponseSchema, PredictResponseSchema, type PredictBatchResponse, type PredictResponse } from "@loopline/proto/gen/loopline/v1/inference_pb.js";
import { Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { FeatureStatus, type FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { out, parseFlags, parsePairs, reportFailure, stringFlag, table, UsageError, type Command } from "./commands.js";

/** Variables of `loopline predict`. */
export const predictConfigSchema = defineConfig({
  address: { type: "string", env: "LOOPLINE_INFERENCE_ADDRESS", default: "127.0.0.1:50052", doc: "inference gRPC address host:port" },
  tlsCa: { type: "string", env: "LOOPLINE_INFERENCE_TLS_CA", default: "", doc: "PEM file of the CA to trust; when set the CLI speaks TLS to inference" },
});

const USAGE = "MODEL ENTITY_ID... [--version V] [--request-id ID] [--features name=value,...] [--json]";
const FLAGS = ["version", "request-id", "features", "json"];

/** "production" for Route.PRODUCTION. */
export function routeText(route: Route): string {
  return route === Route.UNSPECIFIED ? "-" : (Route[route] ?? String(route)).toLowerCase();
}

/** "PRESENT" for FeatureStatus.PRESENT. */
export function featureStatusText(status: FeatureStatus): string {
  return FeatureStatus[status] ?? String(status);
}

/** A request-time value from the command line: a number when it reads as a finite one, else text. */
export function requestValue(text: string): FeatureValue {
  const n = Number(text);
  return toFeatureValue(text !== "" && Number.isFinite(n) ? n : text);
}

/** Scores as the model gave them, without float noise past 6 significant digits. */
const score = (x: number) => String(Number(x.toPrecision(6)));

/** The human answer for one entity. */
export function predictionText(entityId: string, r: PredictResponse): string {
  const lines = [
    `${r.model} version ${r.modelVersion} (${routeText(r.route)}) for ${entityId}: score ${score(r.score)}, decision ${r.decision}`,
    `request id ${r.requestId}`,
  ];
  if (r.degraded) lines.push("degraded: the feature store was unreachable, the signature's defaults stood in");
  if (r.featureRefs.length > 0) lines.push("", table(["feature", "status"], r.featureRefs.map((ref, i) => [ref, featureStatusText(r.featureStatuses[i] ?? FeatureStatus.UNSPECIFIED)])));
  if (r.outputs.length > 0) lines.push("", table(["output", "values"], r.outputs.map((o) => [o.name, o.values.map(score).join(" ")])));
  return lines.join("\n");
}

/** The human answer for several entities: one row each, with the features that were not PRESENT. */
export function batchText(entityIds: readonly string[], r: PredictBatchResponse): string {
  const width = r.featureRefs.length;
  const rows = entityIds.map((entityId, i) => {
    const route = r.routes[i] ?? Route.UNSPECIFIED;
    const version = route === Route.CANARY ? r.canaryVersion : r.productionVersion;
    const missing = r.featureRefs.filter((_, f) => (r.featureStatuses[i * width + f] ?? FeatureStatus.UNSPECIFIED) !== FeatureStatus.PRESENT);
    return [entityId, version, routeText(route), score(r.scores[i] ?? Number.NaN), String(r.decisions[i] ?? "-"), missing.length === 0 ? "-" : missing.join(" ")];
  });
  const lines = [`${r.model}, request id ${r.requestId}`, table(["entity", "version", "route", "score", "decision", "features not present"], rows)];
  if (r.degraded) lines.push("degraded: the feature store was unreachable, the signature's defaults stood in");
  return lines.join("\n");
}

/** `loopline predict`: asks inference for one entity (Predict) or several (PredictBatch). */
export const predictCommand: Command = {
  path: ["predict"],
  summary: "ask inference for a prediction, with the version and route that answered and each feature's status",
  usage: USAGE,
  run: async (args, io) => {
    const path = ["predict"];
    const config = loadConfig(predictConfigSchema, io.env);
    let client: ReturnType<typeof createClient<typeof Inference>> | undefined;
    try {
      const { positional, flags } = parseFlags(args, FLAGS);
      const [model, ...entityIds] = positional;
      if (model === undefined || model.trim() === "") throw new UsageError("MODEL is required");
      if (entityIds.length === 0) throw new UsageError("at least one ENTITY_ID is required");
      const version = stringFlag(flags, "version") ?? "";
      const requestId = stringFlag(flags, "request-id") ?? "";
      const requestFeatures = parsePairs(stringFlag(flags, "features") ?? "", "features", requestValue);
      client = createClient(Inference, config.address, { timeoutMs: 30_000, ...(config.tlsCa !== "" ? { tls: { ca: config.tlsCa } } : {}) });
      if (entityIds.length === 1) {
        const entityId = entityIds[0] as string;
        const response = await client.predict({ model, entityId, requestId, requestFeatures, version });
        out(io, flags.has("json") ? JSON.stringify(toJson(PredictResponseSchema, response)) : predictionText(entityId, response));
      } else {
        const response = await client.predictBatch({ model, entityIds, requestId, requestFeatures, version });
        out(io, flags.has("json") ? JSON.stringify(toJson(PredictBatchResponseSchema, response)) : batchText(entityIds, response));
      }
      return 0;
    } catch (err) {
      return reportFailure(io, path, USAGE, err, { what: "inference", address: config.address, variable: "LOOPLINE_INFERENCE_ADDRESS" });
    } finally {
      client?.close();
    }
  },
};
