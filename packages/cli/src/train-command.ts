// `loopline train`: a model trained offline from what is on Kafka — the raw events folded
// point-in-time through the view's engine (the code the stream runs) at each entity-keyed label's
// time — then registered with its signature, metrics and reference profile, and optionally promoted.
// It is how the first champion of a model comes to be: retrain-trigger trains later ones from the
// labelled predictions in ClickHouse, which need a model to have served first.
import { randomUUID } from "node:crypto";
import { builtinRegistry, type Event, type FeatureView } from "@loopline/features";
import { commonConfigSchema, loadConfig } from "@loopline/kit";
import { decodeLabel, GrpcError, GrpcStatus, isLabelProblem, type DecodedLabel, type LabelProblem } from "@loopline/proto";
import { Stage } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { trainingSetFromReplay, type ReplayLabel } from "@loopline/retrain-trigger/replay-set";
import { createTrainer, numericSignature, parseTrainerSpec, trainChallenger, TrainerError, type ThresholdChoice, type TrainedChallenger } from "@loopline/trainer";
import { out, parseFlags, reportFailure, stringFlag, switchFlag, usageFlags, UsageError, type Command, type CommandIO } from "./commands.js";
import { openSession, uploadVersion, type Session } from "./models-commands.js";
import { stageText } from "./models-format.js";
import { createRecordDecoder, replayConfigSchema } from "./replay-command.js";
import { CommandFailure, readTopics } from "./topic-read.js";

const PATH = ["train"] as const;
const USAGE = "MODEL VIEW [--features NAME,...] [--trainer builtin:logistic|builtin:gbt|command:PATH] [--threshold max_f1|NUMBER] [--min-labels N] [--promote] [--reason TEXT] [--json]";
/** Fewest usable labels by default: fewer leave a holdout too small to say anything. */
const DEFAULT_MIN_LABELS = 50;

/** What the command line asks for. */
export interface TrainArgs {
  model: string;
  view: FeatureView;
  /** Feature names of the view, in input order. */
  features: string[];
  trainerSpec: string;
  threshold: ThresholdChoice;
  minLabels: number;
  promote: boolean;
  reason: string | undefined;
  json: boolean;
}

/** Parses the arguments of `loopline train`; every mistake is a UsageError. */
export function parseTrainArgs(args: readonly string[]): TrainArgs {
  const { positional, flags } = parseFlags(args, usageFlags(USAGE));
  const promote = switchFlag(flags, "promote");
  const json = switchFlag(flags, "json");
  const [model, viewName, ...extra] = positional;
  if (model === undefined || model.trim() === "") throw new UsageError("MODEL is required");
  if (viewName === undefined) throw new UsageError("VIEW is required");
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const view = builtinRegistry.views.find((v) => v.name === viewName);
  if (view === undefined) throw new UsageError(`unknown view "${viewName}" (known views: ${builtinRegistry.views.map((v) => v.name).join(", ")})`);
  const numeric = view.features.filter((f) => f.valueType === "number").map((f) => f.name);
  const featuresFlag = stringFlag(flags, "features");
  const features = featuresFlag === undefined ? numeric : featuresFlag.split(",").map((f) => f.trim()).filter((f) => f !== "");
  if (features.length === 0) throw new UsageError("--features names no feature");
  for (const name of features) {
    const feature = view.features.find((f) => f.name === name);
    if (feature === undefined) throw new UsageError(`--features: ${view.name} has no feature "${name}"`);
    if (feature.valueType !== "number") throw new UsageError(`--features: ${view.name}:${name} is a ${feature.valueType}; the built-in signature takes numbers (${numeric.join(", ")})`);
  }
  const trainerSpec = stringFlag(flags, "trainer") ?? "builtin:logistic";
  try {
    parseTrainerSpec(trainerSpec);
  } catch (err) {
    throw new UsageError(`--trainer: ${(err as Error).message}`);
  }
  const thresholdText = stringFlag(flags, "threshold") ?? "max_f1";
  let threshold: ThresholdChoice = "max_f1";
  if (thresholdText !== "max_f1") {
    threshold = Number(thresholdText);
    if (thresholdText.trim() === "" || !(threshold > 0 && threshold < 1)) throw new UsageError(`--threshold: "${thresholdText}" is neither max_f1 nor a number between 0 and 1`);
  }
  const minText = stringFlag(flags, "min-labels");
  const minLabels = minText === undefined ? DEFAULT_MIN_LABELS : Number(minText);
  if (!Number.isInteger(minLabels) || minLabels < 4) throw new UsageError(`--min-labels: "${minText}" is not a whole number of at least 4`);
  const reason = stringFlag(flags, "reason");
  if (reason !== undefined && !promote) throw new UsageError("--reason is the promotion's: it goes with --promote");
  return { model, view, features, trainerSpec, threshold, minLabels, promote, reason, json };
}

/** Entity-keyed labels, one per (entity, event time) — a redelivered or corrected label replaces the earlier one — and what was set aside. */
export interface LabelSelection {
  labels: ReplayLabel[];
  positives: number;
  /** Request-keyed labels: they label predictions, which retrain-trigger trains on. */
  requestKeyed: number;
  /** Labels that were read again (same entity and event time): the later one counts. */
  replaced: number;
  /** Undecodable labels by the reason every consumer of the labels topic dead-letters them with. */
  invalid: Map<string, number>;
}

/** Collects entity-keyed labels from decoded label inputs (undecodable ones counted by reason). */
export function selectLabels(inputs: Iterable<Omit<DecodedLabel, "labelId"> | LabelProblem>): LabelSelection {
  const byKey = new Map<string, ReplayLabel>();
  const invalid = new Map<string, number>();
  let requestKeyed = 0;
  let replaced = 0;
  for (const input of inputs) {
    if (isLabelProblem(input)) {
      invalid.set(input.code, (invalid.get(input.code) ?? 0) + 1);
      continue;
    }
    if (input.entityId === "") {
      requestKeyed++;
      continue;
    }
    const id = `${input.entityId}@${input.eventTimeMs}`;
    if (byKey.has(id)) replaced++;
    byKey.set(id, { id, entityId: input.entityId, atMs: input.eventTimeMs, label: input.label });
  }
  const labels = [...byKey.values()].sort((a, b) => a.atMs - b.atMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { labels, positives: labels.filter((l) => l.label === 1).length, requestKeyed, replaced, invalid };
}

/** What a run did, for the text and JSON outputs. */
interface TrainReport {
  model: string;
  view: string;
  trainer: string;
  features: string[];
  eventsRead: number;
  eventsUsed: number;
  labels: LabelSelection;
  trained: TrainedChallenger;
  version: string;
  stage: Stage;
  status: "ready" | "rejected";
  statusReason: string;
  sha256: string;
  promoted: boolean;
  previousProduction: string;
}

const fixed = (x: number | undefined, digits = 4) => (x === undefined ? "-" : String(Number(x.toFixed(digits))));

function reportText(r: TrainReport): string {
  const h = r.trained.holdout;
  const counts = (m: Map<string, number>) => [...m].map(([k, n]) => `${k} ${n}`).join(", ");
  const setAside = [
    r.labels.requestKeyed > 0 ? `${r.labels.requestKeyed} request-keyed (they label predictions: retrain-trigger's input)` : "",
    r.labels.replaced > 0 ? `${r.labels.replaced} replaced by a later label of the same entity and time` : "",
    r.labels.invalid.size > 0 ? `invalid: ${counts(r.labels.invalid)}` : "",
  ].filter((x) => x !== "");
  const lines = [
    `${r.model}: trained ${r.trainer} on ${r.labels.labels.length} entity-keyed labels (${r.labels.positives} positive), each joined point-in-time to ${r.view} over the labelled entities' ${r.eventsUsed} events (${r.eventsRead} records read)`,
    ...(setAside.length > 0 ? [`labels set aside: ${setAside.join("; ")}`] : []),
    `features: ${r.features.map((f) => `${r.view}:${f}`).join(", ")}`,
    `holdout (${h.rows} rows, ${h.positives} positive): auc ${fixed(h.auc)}, log_loss ${fixed(h.logLoss)}, calibration_error ${fixed(h.calibrationError)}; at threshold ${fixed(h.threshold)}: precision ${fixed(h.precision)}, recall ${fixed(h.recall)}`,
  ];
  if (r.status === "rejected") lines.push(`${r.model} version ${r.version} REJECTED by the registry: ${r.statusReason}`);
  else lines.push(`registered ${r.model} version ${r.version} (ready, ${stageText(r.stage)}), sha256 ${r.sha256}`);
  if (r.promoted) lines.push(`${r.model} version ${r.version} → production${r.previousProduction !== "" ? `; version ${r.previousProduction} archived` : ""}`);
  else if (r.status === "ready") lines.push(`promote it with: loopline models promote ${r.model} ${r.version} --to production --reason "..."`);
  return lines.join("\n");
}

function reportJson(r: TrainReport): string {
  const h = r.trained.holdout;
  return JSON.stringify({
    model: r.model,
    view: r.view,
    trainer: r.trainer,
    features: r.features.map((f) => `${r.view}:${f}`),
    eventsRead: r.eventsRead,
    eventsUsed: r.eventsUsed,
    labels: { used: r.labels.labels.length, positives: r.labels.positives, requestKeyed: r.labels.requestKeyed, replaced: r.labels.replaced, invalid: Object.fromEntries(r.labels.invalid) },
    holdout: { rows: h.rows, positives: h.positives, auc: h.auc ?? null, logLoss: h.logLoss, calibrationError: h.calibrationError, threshold: h.threshold, precision: h.precision, recall: h.recall, accuracy: h.accuracy },
    version: r.version,
    status: r.status,
    statusReason: r.statusReason,
    stage: stageText(r.stage),
    sha256: r.sha256,
    promoted: r.promoted,
    previousProductionVersion: r.previousProduction,
  });
}

async function registerAndPromote(session: Session, args: TrainArgs, trained: TrainedChallenger, labels: LabelSelection): Promise<Pick<TrainReport, "version" | "stage" | "status" | "statusReason" | "sha256" | "promoted" | "previousProduction">> {
  const { version } = await uploadVersion(
    session,
    {
      model: args.model,
      description: `trained by loopline train from ${args.view.name} events and ${labels.labels.length} entity-keyed labels`,
      signature: trained.signature,
      lineage: { ...trained.lineage, trainingRows: BigInt(trained.lineage.trainingRows), source: `loopline-train/${args.trainerSpec}`, runId: randomUUID() },
      metrics: trained.metrics,
      referenceProfile: trained.profile,
      actor: session.actor,
    },
    trained.onnx,
  );
  const result = { version: version.version, stage: version.stage, status: version.statusReason !== "" ? ("rejected" as const) : ("ready" as const), statusReason: version.statusReason, sha256: version.artifactSha256, promoted: false, previousProduction: "" };
  if (!args.promote || result.status === "rejected") return result;
  const production = (await session.client.getModel({ name: args.model })).model?.productionVersion ?? "";
  const response = await session.client.transitionStage(
    {
      model: args.model,
      version: version.version,
      toStage: Stage.PRODUCTION,
      expectedStage: version.stage,
      expectedProductionVersion: production,
      actor: session.actor,
      reason: args.reason ?? `trained by loopline train: holdout AUC ${fixed(trained.holdout.auc)} on ${trained.holdout.rows} rows`,
      evidenceJson: JSON.stringify({ holdout_auc: trained.holdout.auc ?? null, holdout_rows: trained.holdout.rows, labels: labels.labels.length }),
    },
    session.writeOptions,
  );
  return { ...result, stage: response.version?.stage ?? Stage.PRODUCTION, promoted: true, previousProduction: response.previousProductionVersion };
}

/** `loopline train MODEL VIEW`: trains from the events and labels on Kafka, registers, optionally promotes. */
export const trainCommand: Command = {
  path: PATH,
  summary: "train a model from the events and entity-keyed labels on Kafka (features point-in-time through the view's engine), register it, and --promote it",
  usage: USAGE,
  run: async (args, io: CommandIO) => {
    let session: Session | undefined;
    try {
      const parsed = parseTrainArgs(args);
      const config = loadConfig({ ...replayConfigSchema, kafkaBrokers: commonConfigSchema.kafkaBrokers, topicPrefix: commonConfigSchema.topicPrefix }, io.env);
      // The registry is asked first, so an unreachable one is said before minutes of reading and training.
      session = openSession(io);
      await session.client.getModel({ name: parsed.model }).catch((err: unknown) => {
        if (!(err instanceof GrpcError && err.code === GrpcStatus.NOT_FOUND)) throw err;
      });
      // The labels first: they say which entities matter, so of a long events topic only the
      // labelled entities' events are held (decoded as `loopline replay` decodes them, as events,
      // not record buffers), and too few labels are said before the events are read at all.
      const labelInputs: ReturnType<typeof decodeLabel>[] = [];
      await readTopics(
        config,
        [
          {
            base: "labels",
            keep: (record) => {
              if (record.value !== null) labelInputs.push(decodeLabel(record.value, record.headers["content-type"]?.toString("latin1")));
              return false;
            },
          },
        ],
        io,
        "train",
      );
      const labels = selectLabels(labelInputs);
      if (labels.labels.length < parsed.minLabels) {
        throw new CommandFailure(`${labels.labels.length} entity-keyed labels on the labels topic (${labels.requestKeyed} request-keyed set aside); at least ${parsed.minLabels} are needed (--min-labels)`);
      }
      if (labels.positives === 0 || labels.positives === labels.labels.length) {
        throw new CommandFailure(`all ${labels.labels.length} labels are ${labels.positives === 0 ? 0 : 1}: a classifier needs both classes`);
      }
      const labelled = new Set(labels.labels.map((l) => l.entityId));
      const decode = createRecordDecoder({ views: builtinRegistry.views, maxEventBytes: config.maxEventBytes, maxClockSkewMs: config.maxClockSkewMs });
      const events: Event[] = [];
      const view = parsed.view;
      const [eventRead] = await readTopics(
        config,
        [
          {
            base: "events",
            keep: (record) => {
              const decoded = decode(record);
              if (decoded.ok && decoded.event.entity === view.entity && view.sourceTypes.includes(decoded.event.type) && labelled.has(decoded.event.entityId)) events.push(decoded.event);
              return false;
            },
          },
        ],
        io,
        "train",
      );
      if (!parsed.json) io.err(`loopline train: ${events.length} ${view.name} events and ${labels.labels.length} labels read; training ${parsed.trainerSpec}…\n`);
      const set = trainingSetFromReplay(view, events, labels.labels, parsed.features, `loopline train: ${view.name} replayed from ${eventRead?.topic ?? "events"} at ${labels.labels.length} entity-keyed labels`);
      const refs = parsed.features.map((f) => `${view.name}:${f}`);
      const trained = await trainChallenger({ model: parsed.model, trainer: createTrainer(parseTrainerSpec(parsed.trainerSpec)), set, signature: numericSignature(refs), threshold: parsed.threshold });
      const registered = await registerAndPromote(session, parsed, trained, labels);
      const report: TrainReport = { model: parsed.model, view: view.name, trainer: parsed.trainerSpec, features: parsed.features, eventsRead: eventRead?.recordsRead ?? 0, eventsUsed: events.length, labels, trained, ...registered };
      out(io, parsed.json ? reportJson(report) : reportText(report));
      return report.status === "rejected" ? 1 : 0;
    } catch (err) {
      if (err instanceof CommandFailure || err instanceof TrainerError) {
        io.err(`loopline train: ${err.message}\n`);
        return 1;
      }
      return reportFailure(io, PATH, USAGE, err, { what: "registry", address: session?.address, variable: "LOOPLINE_REGISTRY_ADDRESS" });
    } finally {
      session?.client.close();
    }
  },
};
