import { toJson, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { builtinRegistry, formatFeatureRef } from "@loopline/features";
import { defineConfig, loadConfig } from "@loopline/kit";
import { createClient } from "@loopline/proto";
import { FeatureStore, GetOnlineFeaturesResponseSchema, type GetOnlineFeaturesRequestSchema, type GetOnlineFeaturesResponse } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { out, parseFlags, reportFailure, stringFlag, switchFlag, table, UsageError, type Command } from "./commands.js";
import { parseAt } from "./replay-command.js";
import { instantText, storedCell, valueText } from "./replay-format.js";

/** Variables of `loopline features`. */
export const featuresConfigSchema = defineConfig({
  address: { type: "string", env: "LOOPLINE_FEATURE_STORE_ADDRESS", default: "127.0.0.1:50051", doc: "feature-store gRPC address host:port" },
});

const USAGE = "ENTITY_ID... (--view VIEW | --set NAME | --features VIEW:FEATURE,...) [--as-of TIME] [--json]";
const PATH = ["features"] as const;

/** What to read, as GetOnlineFeatures takes it. */
export type FeaturesArgs = { request: MessageInitShape<typeof GetOnlineFeaturesRequestSchema>; asOf: number | undefined; json: boolean };

/**
 * Parses the command line into a GetOnlineFeatures request. `--view` expands to every feature of a
 * view the CLI knows (the built-in registry); `--set` and `--features` are passed on as they are, so
 * feature-store judges them against the views it serves and names what it does not know.
 */
export function parseFeaturesArgs(args: readonly string[]): FeaturesArgs {
  const { positional, flags } = parseFlags(args, ["view", "set", "features", "as-of", "json"]);
  const json = switchFlag(flags, "json", "entity ids go before the flags");
  const entityIds = [...new Set(positional)];
  if (entityIds.length === 0) throw new UsageError("at least one ENTITY_ID is required");
  if (entityIds.includes("")) throw new UsageError("ENTITY_ID must not be empty");
  const view = stringFlag(flags, "view");
  const set = stringFlag(flags, "set");
  const refs = stringFlag(flags, "features");
  const given = [view, set, refs].filter((x) => x !== undefined).length;
  if (given !== 1) throw new UsageError("name what to read with exactly one of --view VIEW, --set NAME or --features VIEW:FEATURE,...");
  const at = stringFlag(flags, "as-of");
  const asOf = at === undefined ? undefined : parseAt(at, "--as-of");
  const time = asOf !== undefined ? { asOf: timestampFromMs(asOf) } : {};
  if (view !== undefined) {
    const known = builtinRegistry.views.find((v) => v.name === view);
    if (known === undefined) throw new UsageError(`unknown view "${view}" (known views: ${builtinRegistry.views.map((v) => v.name).join(", ")}); --features VIEW:FEATURE,... reads any view feature-store serves`);
    const features = known.features.map((f) => formatFeatureRef({ view: known.name, feature: f.name }));
    return { request: { entity: known.entity, entityIds, features, ...time }, asOf, json };
  }
  if (set !== undefined) return { request: { entityIds, featureSet: set, ...time }, asOf, json };
  const features = (refs ?? "").split(",").map((r) => r.trim());
  if (features.some((r) => !/^[^:\s]+:[^:\s]+$/.test(r))) throw new UsageError(`--features takes VIEW:FEATURE refs separated by commas, got "${refs ?? ""}"`);
  return { request: { entityIds, features, ...time }, asOf, json };
}

/** The human answer: a table per entity of each feature's value, status and the event time it is as of. */
export function featuresText(response: GetOnlineFeaturesResponse, asOf: number | undefined): string {
  const when = asOf === undefined ? "now" : `as of ${instantText(asOf)}`;
  return response.entityIds
    .map((entityId, j) => {
      const rows = response.columns.map((column) => {
        const cell = storedCell(column, j);
        return [column.ref, valueText(cell.value), cell.status, instantText(cell.watermark)];
      });
      const present = response.columns.filter((c) => c.statuses[j] === FeatureStatus.PRESENT).length;
      return `${entityId} (${when}): ${present}/${response.columns.length} present\n${table(["feature", "value", "status", "event time"], rows)}`;
    })
    .join("\n\n");
}

/** `loopline features ENTITY_ID...`: reads online features from feature-store, as a model would be served them. */
export const featuresCommand: Command = {
  path: PATH,
  summary: "read entities' online features from feature-store (GetOnlineFeatures), each value with its status and event time",
  usage: USAGE,
  run: async (args, io) => {
    const config = loadConfig(featuresConfigSchema, io.env);
    let client: ReturnType<typeof createClient<typeof FeatureStore>> | undefined;
    try {
      const parsed = parseFeaturesArgs(args);
      client = createClient(FeatureStore, config.address, { timeoutMs: 30_000 });
      const response = await client.getOnlineFeatures(parsed.request);
      out(io, parsed.json ? JSON.stringify(toJson(GetOnlineFeaturesResponseSchema, response)) : featuresText(response, parsed.asOf));
      return 0;
    } catch (err) {
      return reportFailure(io, PATH, USAGE, err, { what: "feature-store", address: config.address, variable: "LOOPLINE_FEATURE_STORE_ADDRESS" });
    } finally {
      client?.close();
    }
  },
};
