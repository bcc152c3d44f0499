import { readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { fromJson, type MessageInitShape } from "@bufbuild/protobuf";
import { defineConfig, loadConfig } from "@loopline/kit";
import { createClient, GrpcError, GrpcStatus, type Client } from "@loopline/proto";
import {
  ModelRegistry,
  ModelSignatureSchema,
  Stage,
  type ModelSignature,
  type ModelVersion,
  type RegisterVersionHeaderSchema,
  type RegisterVersionResponse,
} from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { out, parseFlags, parsePairs, reportFailure, requireFlag, stringFlag, usageFlags, UsageError, type Command, type CommandIO } from "./commands.js";
import { historyTable, json, modelsTable, stageText, versionDetails, versionsTable } from "./models-format.js";

/** Variables of the models commands. */
export const modelsConfigSchema = defineConfig({
  address: { type: "string", env: "LOOPLINE_REGISTRY_ADDRESS", default: "127.0.0.1:50053", doc: "model registry gRPC address host:port" },
  token: { type: "string", env: "LOOPLINE_REGISTRY_TOKEN", default: "", doc: "bearer token sent with writes" },
  tlsCa: { type: "string", env: "LOOPLINE_REGISTRY_TLS_CA", default: "", doc: "PEM file of the CA to trust; when set the CLI speaks TLS" },
  actor: { type: "string", env: "LOOPLINE_ACTOR", default: "", doc: "who the change is recorded as; default cli: followed by the login name" },
});

const CHUNK_BYTES = 1024 * 1024;

/** A registry client with who writes and how (token). */
export interface Session {
  client: Client<typeof ModelRegistry>;
  address: string;
  actor: string;
  writeOptions: { metadata?: Record<string, string> };
}

function parseMetric(value: string, key: string): number {
  const n = Number(value);
  if (value === "" || !Number.isFinite(n)) throw new UsageError(`--metrics: ${key}=${value} is not a finite number`);
  return n;
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(`${what} ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what} ${path}: not JSON (${(err as Error).message})`);
  }
}

/** Reads a signature file: the proto3 JSON form of loopline.v1.ModelSignature. */
export async function readSignature(path: string): Promise<ModelSignature> {
  const value = await readJsonFile(path, "signature");
  try {
    return fromJson(ModelSignatureSchema, value as never);
  } catch (err) {
    throw new UsageError(`signature ${path}: ${(err as Error).message}`);
  }
}

function parseStageFlag(text: string): Stage {
  const name = text.trim().toUpperCase().replace(/^STAGE_/, "");
  const stage = Stage[name as keyof typeof Stage];
  if (stage === undefined || stage === Stage.UNSPECIFIED) throw new UsageError(`--to: "${text}" is not one of candidate, shadow, canary, production, archived`);
  return stage;
}

/** Opens a registry client from LOOPLINE_REGISTRY_* and LOOPLINE_ACTOR. */
export function openSession(io: CommandIO): Session {
  const config = loadConfig(modelsConfigSchema, io.env);
  const client = createClient(ModelRegistry, config.address, { timeoutMs: 30_000, ...(config.tlsCa !== "" ? { tls: { ca: config.tlsCa } } : {}) });
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return {
    client,
    address: config.address,
    actor: config.actor !== "" ? config.actor : `cli:${user}`,
    writeOptions: config.token !== "" ? { metadata: { authorization: `Bearer ${config.token}` } } : {},
  };
}

/** Runs a models command body with a client and turns failures into one-line messages. */
function modelsCommand(path: string, summary: string, usage: string, body: (args: { positional: string[]; flags: Map<string, string | true> }, session: Session, io: CommandIO) => Promise<number | void>): Command {
  return {
    path: ["models", path],
    summary,
    usage,
    run: async (args, io) => {
      let session: Session | undefined;
      try {
        // A mistyped flag must not be dropped quietly: `--reasn` would lose a promotion's reason.
        const parsed = parseFlags(args, usageFlags(usage));
        session = openSession(io);
        return (await body(parsed, session, io)) ?? 0;
      } catch (err) {
        return reportFailure(io, ["models", path], usage, err, { what: "registry", address: session?.address, variable: "LOOPLINE_REGISTRY_ADDRESS" });
      } finally {
        session?.client.close();
      }
    },
  };
}

function positional(parsed: { positional: string[] }, index: number, name: string): string {
  const value = parsed.positional[index];
  if (value === undefined || value === "") throw new UsageError(`${name} is required`);
  return value;
}

/** `loopline models list`. */
export const modelsListCommand = modelsCommand("list", "list registered models with their production version", "[--json]", async ({ flags }, { client }, io) => {
  const { models } = await client.listModels({});
  out(io, flags.has("json") ? JSON.stringify({ models: models.map(json.model) }) : models.length === 0 ? "no models registered" : modelsTable(models));
});

/** `loopline models show MODEL [VERSION]`. */
export const modelsShowCommand = modelsCommand("show", "show a model and its versions, or one version in detail (VERSION may be an alias)", "MODEL [VERSION|ALIAS] [--json]", async (parsed, { client }, io) => {
  const model = positional(parsed, 0, "MODEL");
  const which = parsed.positional[1];
  if (which !== undefined) {
    const isNumber = /^\d+$/.test(which);
    const { version } = await client.getVersion({ model, version: isNumber ? which : "", alias: isNumber ? "" : which });
    if (version === undefined) throw new GrpcError(GrpcStatus.NOT_FOUND, `${model} ${which} not found`);
    out(io, parsed.flags.has("json") ? JSON.stringify(json.version(version)) : versionDetails(version));
    return;
  }
  const summary = (await client.getModel({ name: model })).model;
  const versions = [];
  let pageToken = "";
  do {
    const page = await client.listVersions({ model, pageSize: 1000, pageToken });
    versions.push(...page.versions);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  if (parsed.flags.has("json")) {
    out(io, JSON.stringify({ model: summary === undefined ? null : json.model(summary), versions: versions.map(json.version) }));
    return;
  }
  const header = `${model}: production ${summary?.productionVersion || "none"}, latest ${summary?.latestVersion || "-"}, ${versions.length} versions`;
  out(io, `${header}\n${versionsTable(versions)}`);
});

/** `loopline models register MODEL --onnx FILE --signature FILE.json ...`. */
export const modelsRegisterCommand = modelsCommand(
  "register",
  "upload an ONNX model with its signature; it is validated and recorded READY or REJECTED",
  "MODEL --onnx FILE --signature FILE.json [--metrics k=v,...] [--profile FILE.json] [--description TEXT] [--tags k=v,...] [--source TEXT] [--run-id ID] [--json]",
  async (parsed, { client, actor, writeOptions }, io) => {
    const model = positional(parsed, 0, "MODEL");
    const onnxPath = requireFlag(parsed.flags, "onnx");
    const signature = await readSignature(requireFlag(parsed.flags, "signature"));
    const profilePath = stringFlag(parsed.flags, "profile");
    const profile = profilePath === undefined ? new Uint8Array() : Buffer.from(JSON.stringify(await readJsonFile(profilePath, "profile")));
    let onnx: Buffer;
    try {
      onnx = await readFile(onnxPath);
    } catch (err) {
      throw new UsageError(`--onnx ${onnxPath}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
    }
    const header = {
      model,
      signature,
      description: stringFlag(parsed.flags, "description") ?? "",
      metrics: parsePairs(stringFlag(parsed.flags, "metrics") ?? "", "metrics", parseMetric),
      tags: parsePairs(stringFlag(parsed.flags, "tags") ?? "", "tags", (v) => v),
      referenceProfile: profile,
      lineage: { source: stringFlag(parsed.flags, "source") ?? "cli", runId: stringFlag(parsed.flags, "run-id") ?? "" },
      actor,
    };
    const response = await uploadVersion({ client, writeOptions }, header, onnx);
    const v = response.version;
    if (parsed.flags.has("json")) {
      out(io, JSON.stringify({ version: json.version(v), artifactDeduplicated: response.artifactDeduplicated }));
    } else if (v.statusReason !== "") {
      out(io, `${v.model} version ${v.version} REJECTED: ${v.statusReason}\n(recorded; it can never be promoted)`);
    } else {
      out(io, `${v.model} version ${v.version} registered (ready, ${stageText(v.stage)}), sha256 ${v.artifactSha256}${response.artifactDeduplicated ? " (identical bytes already stored)" : ""}\n${v.validationSummary}`);
    }
    // A rejected version is recorded, but the upload did not give a usable model: fail the command.
    return v.statusReason !== "" ? 1 : 0;
  },
);

/** Registers a version: the header, then the ONNX bytes in 1 MB chunks; the answer always has a version. */
export async function uploadVersion(
  session: Pick<Session, "client" | "writeOptions">,
  header: MessageInitShape<typeof RegisterVersionHeaderSchema>,
  onnx: Uint8Array,
): Promise<RegisterVersionResponse & { version: ModelVersion }> {
  const messages = [
    { part: { case: "header" as const, value: header } },
    ...Array.from({ length: Math.ceil(onnx.length / CHUNK_BYTES) }, (_, i) => ({ part: { case: "chunk" as const, value: onnx.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES) } })),
  ];
  const response = await session.client.registerVersion(messages, { ...session.writeOptions, timeoutMs: 300_000 });
  const version = response.version;
  if (version === undefined) throw new GrpcError(GrpcStatus.INTERNAL, "the registry answered without a version");
  return { ...response, version };
}

/** `loopline models promote MODEL VERSION --to STAGE`. */
export const modelsPromoteCommand = modelsCommand(
  "promote",
  "move a version to a stage (promoting to production archives the current champion)",
  "MODEL VERSION --to candidate|shadow|canary|production|archived [--reason TEXT] [--evidence JSON] [--json]",
  async (parsed, { client, actor, writeOptions }, io) => {
    const model = positional(parsed, 0, "MODEL");
    const version = positional(parsed, 1, "VERSION");
    const to = parseStageFlag(requireFlag(parsed.flags, "to"));
    // Optimistic concurrency: the change applies only if nobody moved the version (or production) since we looked.
    const current = (await client.getVersion({ model, version })).version;
    const production = (await client.getModel({ name: model })).model?.productionVersion ?? "";
    const response = await client.transitionStage(
      {
        model,
        version,
        toStage: to,
        expectedStage: current?.stage ?? Stage.UNSPECIFIED,
        expectedProductionVersion: to === Stage.PRODUCTION ? production : "",
        actor,
        reason: stringFlag(parsed.flags, "reason") ?? "",
        evidenceJson: stringFlag(parsed.flags, "evidence") ?? "",
      },
      writeOptions,
    );
    if (parsed.flags.has("json")) {
      out(io, JSON.stringify({ version: response.version === undefined ? null : json.version(response.version), previousProductionVersion: response.previousProductionVersion }));
      return;
    }
    const archived = response.previousProductionVersion !== "" ? `; version ${response.previousProductionVersion} archived` : "";
    out(io, `${model} version ${version}: ${stageText(current?.stage ?? Stage.UNSPECIFIED)} → ${stageText(to)}${archived}`);
  },
);

/** `loopline models rollback MODEL [--to VERSION] --reason TEXT`. */
export const modelsRollbackCommand = modelsCommand(
  "rollback",
  "restore the last known-good production version (or --to VERSION) and archive the current one",
  "MODEL [--to VERSION] --reason TEXT [--evidence JSON] [--json]",
  async (parsed, { client, actor, writeOptions }, io) => {
    const model = positional(parsed, 0, "MODEL");
    const reason = requireFlag(parsed.flags, "reason");
    const response = await client.rollback(
      { model, toVersion: stringFlag(parsed.flags, "to") ?? "", reason, actor, evidenceJson: stringFlag(parsed.flags, "evidence") ?? "" },
      writeOptions,
    );
    if (parsed.flags.has("json")) {
      out(io, JSON.stringify({ production: response.production === undefined ? null : json.version(response.production), rolledBackVersion: response.rolledBackVersion }));
      return;
    }
    out(io, `${model}: rolled back from version ${response.rolledBackVersion} to version ${response.production?.version ?? "?"} (now production)`);
  },
);

/** `loopline models history MODEL`. */
export const modelsHistoryCommand = modelsCommand("history", "every change of a model: who, when, why", "MODEL [--version VERSION] [--json]", async (parsed, { client }, io) => {
  const model = positional(parsed, 0, "MODEL");
  const { events } = await client.getHistory({ model, version: stringFlag(parsed.flags, "version") ?? "" });
  out(io, parsed.flags.has("json") ? JSON.stringify({ events: events.map(json.event) }) : historyTable(events));
});

/** Every `loopline models ...` command. */
export const modelsCommands: readonly Command[] = [modelsListCommand, modelsShowCommand, modelsRegisterCommand, modelsPromoteCommand, modelsRollbackCommand, modelsHistoryCommand];
