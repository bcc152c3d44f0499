import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { describeError, queryRows, type ClickHouse, type Logger, type Metrics } from "@loopline/kit";
import { Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { RetrainDecisionSchema, type DriftReport, type RetrainDecision } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import { ModelSignatureSchema, Stage, type ModelVersion } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import {
  createOnnxScorer,
  encodeTrainingSet,
  evaluateBinary,
  numericSignature,
  rocAuc,
  trainChallenger,
  type BinaryMetrics,
  type Trainer,
  type TrainingSet,
} from "@loopline/trainer";
import { canaryGate, gateSummary, offlineGate, shadowGate, watchVerdict, type GateResult, type LiveMetrics } from "./gates.js";
import { admitRetrain, evaluateReport, evaluateSchedule, INITIAL_POLICY_STATE, type PolicyState, type PolicyVerdict } from "./policies.js";
import type { ModelPolicy } from "./policy-config.js";
import { degradedSql, ROUTE_TEXT, routeScoresSql, shadowPairsSql, trainingSetSql } from "./queries.js";
import type { RegistryGateway } from "./registry-gateway.js";
import { trainingSetFromServedRows, type ServedRow } from "./served-rows.js";

/** A challenger in shadow or canary: its version, the champion it is compared with, and since when. */
export interface StagedRollout {
  readonly retrainId: string;
  readonly version: string;
  readonly champion: string;
  readonly sinceMs: number;
}

/** Where a model's retrain stands. */
export type Rollout =
  | { readonly phase: "idle" }
  | { readonly phase: "training"; readonly retrainId: string; readonly sinceMs: number }
  | ({ readonly phase: "shadow" } & StagedRollout)
  | ({ readonly phase: "canary" } & StagedRollout)
  | { readonly phase: "watch"; readonly retrainId: string; readonly version: string; readonly previous: string; readonly baselineAuc: number | undefined; readonly sinceMs: number };

/** Dependencies of the controller (all I/O comes in here; tests pass their own clock). */
export interface ControllerDeps {
  readonly registry: RegistryGateway;
  readonly clickhouse: ClickHouse;
  /** ClickHouse database holding predictions and labels. */
  readonly database: string;
  /** Publishes a decision on loopline.retrain. */
  readonly publish: (decision: RetrainDecision) => Promise<void>;
  readonly policies: { forModel(model: string): ModelPolicy; keys(): IterableIterator<string> };
  readonly trainer: Trainer;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Default Date.now. */
  readonly now?: () => number;
}

/** What retrain-trigger knows about one model (GET /status and the demo read it). */
export interface ModelStatus {
  readonly model: string;
  readonly rollout: Rollout;
  readonly policy: PolicyState;
}

/** The policy engine and rollout driver. */
export interface RetrainController {
  /** Folds a drift report into the policies (and the rollback watch); may start a retrain. */
  onDriftReport(report: DriftReport): Promise<void>;
  /** Advances shadow/canary/watch phases and the schedule policy; the service calls it every tick. */
  tick(): Promise<void>;
  /** Starts a retrain now (operator or demo), declined like any other when one is in flight; resolves with that decision (idle() waits for the training). */
  retrain(model: string, reason: string): Promise<RetrainDecision>;
  /**
   * Picks up challengers this service left in shadow or canary (a restart): they resume from the time
   * of their last registry change. A rollback watch in progress is not restored. Resolves with the count.
   */
  resume(): Promise<number>;
  /** Per-model state. */
  status(): ModelStatus[];
  /** Resolves when no training job is running (tests, shutdown). */
  idle(): Promise<void>;
}

const ROUTE_NAMES: Record<number, string> = { [Route.PRODUCTION]: "production", [Route.CANARY]: "canary", [Route.SHADOW]: "shadow" };

/** Builds the controller. */
export function createRetrainController(deps: ControllerDeps): RetrainController {
  const { registry, clickhouse, database, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const startedMs = now();
  const policyState = new Map<string, PolicyState>();
  const rollouts = new Map<string, Rollout>();
  /** Latest labelled live AUC per "model/version" (production route, all traffic). */
  const liveAuc = new Map<string, { auc: number; labelled: number; windowEndMs: number }>();
  const jobs = new Set<Promise<unknown>>();
  /** The production version last seen per model, to notice champions promoted by someone else. */
  const champions = new Map<string, string>();
  let ticking: Promise<void> | undefined;

  const decisionsTotal = metrics.counter("loopline_retrain_decisions_total", "Decisions published on loopline.retrain", ["model", "policy", "action"]);
  const trainSeconds = metrics.histogram("loopline_retrain_train_seconds", "Time to build the training set, train and gate a challenger", ["model"], [1, 5, 15, 30, 60, 120, 300, 600, 1800]);
  const phaseGauge = metrics.gauge("loopline_retrain_rollout_phase", "Rollout phase per model (0 idle, 1 training, 2 shadow, 3 canary, 4 watch)", ["model"]);
  const PHASE_NUMBER = { idle: 0, training: 1, shadow: 2, canary: 3, watch: 4 } as const;

  const rolloutOf = (model: string): Rollout => rollouts.get(model) ?? { phase: "idle" };
  const setRollout = (model: string, rollout: Rollout) => {
    rollouts.set(model, rollout);
    phaseGauge.set({ model }, PHASE_NUMBER[rollout.phase]);
  };
  const stateOf = (model: string): PolicyState => policyState.get(model) ?? INITIAL_POLICY_STATE;

  // Every decision has its own id; the decisions of one retrain (triggered → shadow → canary →
  // promoted → rolled_back) share `retrain_id` in their evidence.
  const decide = async (fields: { model: string; modelVersion: string; policy: string; action: string; reason: string; evidence: unknown; challenger?: string; retrainId?: string }): Promise<RetrainDecision> => {
    const evidence = fields.retrainId === undefined ? fields.evidence : { retrain_id: fields.retrainId, ...(typeof fields.evidence === "object" && fields.evidence !== null ? fields.evidence : { value: fields.evidence }) };
    const decision = create(RetrainDecisionSchema, {
      decisionId: randomUUID(),
      timeMs: BigInt(now()),
      model: fields.model,
      modelVersion: fields.modelVersion,
      policy: fields.policy,
      action: fields.action,
      reason: fields.reason,
      evidenceJson: JSON.stringify(evidence),
      challengerVersion: fields.challenger ?? "",
    });
    decisionsTotal.inc({ model: fields.model, policy: fields.policy, action: fields.action });
    logger.info("retrain decision", { model: fields.model, version: fields.modelVersion, policy: fields.policy, action: fields.action, reason: fields.reason, challenger: fields.challenger ?? "", decisionId: decision.decisionId });
    await deps.publish(decision);
    return decision;
  };

  // ------------------------------------------------------------------------------------------
  // Policies

  const fire = async (model: string, production: ModelVersion | undefined, verdict: PolicyVerdict): Promise<RetrainDecision> => {
    const policy = deps.policies.forModel(model);
    const rollout = rolloutOf(model);
    const admission = admitRetrain(stateOf(model), policy, now(), rollout.phase === "idle" ? undefined : `${rollout.phase}${"version" in rollout ? ` of version ${rollout.version}` : ""}`);
    const version = production?.version ?? "";
    if (!admission.admitted) {
      return decide({ model, modelVersion: version, policy: verdict.policy, action: "declined", reason: `${verdict.reason}; ${admission.reason}`, evidence: verdict.evidence });
    }
    const retrainId = randomUUID();
    policyState.set(model, { ...stateOf(model), lastRetrainMs: now(), ...(verdict.policy === "schedule" ? { lastScheduleMs: now() } : {}) });
    setRollout(model, { phase: "training", retrainId, sinceMs: now() });
    const decision = await decide({ model, modelVersion: version, policy: verdict.policy, action: "triggered", reason: verdict.reason, evidence: verdict.evidence, retrainId });
    const job = runRetrain(model, production, retrainId, verdict.policy).catch(async (err: unknown) => {
      setRollout(model, { phase: "idle" });
      await decide({ model, modelVersion: version, policy: verdict.policy, action: "failed", reason: `retrain failed: ${describeError(err).message}`, evidence: {}, retrainId }).catch((e: unknown) =>
        logger.error("could not publish a failure decision", { err: e }),
      );
    });
    jobs.add(job);
    void job.finally(() => jobs.delete(job));
    return decision;
  };

  const onDriftReport = async (report: DriftReport): Promise<void> => {
    const model = report.model;
    const perf = report.performance;
    const auc = perf?.auc;
    if (report.route === Route.PRODUCTION && report.segment === "" && perf !== undefined && auc !== undefined && perf.labelled > 0n) {
      const key = `${model}/${report.modelVersion}`;
      const windowEndMs = Number(report.windowEndMs);
      if ((liveAuc.get(key)?.windowEndMs ?? -1) < windowEndMs) liveAuc.set(key, { auc, labelled: Number(perf.labelled), windowEndMs });
    }
    if (report.route !== Route.PRODUCTION || report.segment !== "") return; // policies read the champion's whole traffic
    const rollout = rolloutOf(model);
    if (rollout.phase === "watch" && rollout.version === report.modelVersion) {
      await advanceWatch(model, rollout);
      return;
    }
    const production = await registry.production(model);
    const evaluation = evaluateReport(
      stateOf(model),
      {
        reportId: report.reportId,
        modelVersion: report.modelVersion,
        windowEndMs: Number(report.windowEndMs),
        driftedShare: report.driftedShare,
        datasetDrift: report.datasetDrift,
        labelled: Number(perf?.labelled ?? 0n),
        auc,
      },
      deps.policies.forModel(model),
      { version: production?.version ?? "", offlineAuc: production?.metrics["auc"] },
    );
    if (evaluation.ignored !== undefined) {
      logger.debug("drift report ignored", { model, report: report.reportId, why: evaluation.ignored, route: ROUTE_NAMES[report.route] ?? "" });
      return;
    }
    policyState.set(model, evaluation.state);
    const fired = evaluation.verdicts.find((v) => v.fired);
    if (fired !== undefined) {
      await fire(model, production, fired);
      return;
    }
    // Declined: every evaluated policy, in one decision, so the stream explains why nothing happened.
    await decide({
      model,
      modelVersion: production?.version ?? "",
      policy: evaluation.verdicts.map((v) => v.policy).join("+") || "none",
      action: "declined",
      reason: evaluation.verdicts.map((v) => `${v.policy}: ${v.reason}`).join("; ") || "no policy enabled",
      evidence: Object.fromEntries(evaluation.verdicts.map((v) => [v.policy, v.evidence])),
    });
  };

  // ------------------------------------------------------------------------------------------
  // Training and the offline gate

  const loadTrainingSet = async (model: string, featureRefs: readonly string[], policy: ModelPolicy): Promise<TrainingSet> => {
    const toMs = now();
    const query = trainingSetSql({ database, model, fromMs: toMs - policy.training.lookbackMs, toMs, sampleRate: policy.training.sampleRate, maxRows: policy.training.maxRows });
    const rows = await queryRows<ServedRow>(clickhouse, query);
    return trainingSetFromServedRows(rows, featureRefs, query);
  };

  /** The champion scored by onnxruntime on the challenger's holdout rows, encoded with the champion's own signature. */
  const championOnHoldout = async (model: string, champion: ModelVersion, set: TrainingSet, holdout: number[]): Promise<BinaryMetrics | undefined> => {
    const signature = champion.signature;
    if (signature === undefined) return undefined;
    const encoded = encodeTrainingSet(set, signature, holdout);
    const scorer = await createOnnxScorer(await registry.artifact(model, champion.version), signature, encoded.columns);
    try {
      return evaluateBinary(encoded.y, await scorer.score(encoded.x, encoded.rows), signature.threshold);
    } finally {
      await scorer.close();
    }
  };

  const runRetrain = async (model: string, production: ModelVersion | undefined, retrainId: string, policyName: string): Promise<RetrainDecision> => {
    const policy = deps.policies.forModel(model);
    const started = now();
    const base = production?.signature;
    const signature = base !== undefined ? create(ModelSignatureSchema, { ...base }) : policy.training.featureRefs.length > 0 ? numericSignature(policy.training.featureRefs) : undefined;
    if (signature === undefined) throw new Error(`model ${model} has no production version to copy a signature from and policy training.feature_refs is empty`);
    const refs = signature.inputs.map((i) => i.featureRef);
    const set = await loadTrainingSet(model, refs, policy);
    logger.info("training set loaded", { model, rows: set.examples.length, retrainId });
    const trained = await trainChallenger({
      model,
      trainer: deps.trainer,
      set,
      signature,
      threshold: policy.training.threshold,
      holdoutFraction: policy.training.holdoutFraction,
      seed: policy.training.seed,
      parentVersion: production?.version ?? "",
    });
    const champion = production === undefined ? undefined : await championOnHoldout(model, production, set, trained.split.holdout);
    const gate = offlineGate({ challenger: trained.holdout, champion, latencyP50Ms: trained.latency?.singleRowP50Ms }, policy.offline);
    trainSeconds.observe({ model }, (now() - started) / 1000);
    const evidence = { trigger: policyName, gate, training: { rows: set.examples.length, sha256: trained.lineage.trainingDataSha256, query: set.query }, latency: trained.latency ?? null };
    const version = production?.version ?? "";
    if (gate.status !== "passed") {
      setRollout(model, { phase: "idle" });
      return decide({ model, modelVersion: version, policy: "promotion", action: "rejected", reason: gateSummary(gate), evidence, retrainId });
    }
    const registered = await registry.register(model, trained, {
      description: `retrained by retrain-trigger (${policyName}); ${gateSummary(gate)}`,
      tags: { created_by: "retrain-trigger", retrain_id: retrainId, trigger: policyName },
    });
    if (registered.status !== 1 /* READY */) {
      setRollout(model, { phase: "idle" });
      return decide({ model, modelVersion: version, policy: "promotion", action: "rejected", reason: `registry validation: ${registered.statusReason}`, evidence, challenger: registered.version });
    }
    if (production === undefined) {
      // A model's first version has no champion to shadow or canary against: it goes straight to production.
      await registry.transition(model, registered.version, Stage.CANDIDATE, Stage.PRODUCTION, "first version: offline gate passed", evidence, "");
      setRollout(model, { phase: "idle" });
      return decide({ model, modelVersion: registered.version, policy: "promotion", action: "promoted", reason: `first version; ${gateSummary(gate)}`, evidence, challenger: registered.version });
    }
    await registry.transition(model, registered.version, Stage.CANDIDATE, Stage.SHADOW, gateSummary(gate), evidence);
    setRollout(model, { phase: "shadow", retrainId, version: registered.version, champion: production.version, sinceMs: now() });
    return decide({ model, modelVersion: version, policy: "promotion", action: "shadow", reason: gateSummary(gate), evidence, challenger: registered.version, retrainId });
  };

  // ------------------------------------------------------------------------------------------
  // Shadow, canary and the rollback watch

  const liveMetrics = async (model: string, version: string, route: string, sinceMs: number): Promise<LiveMetrics> => {
    const rows = await queryRows<{ score: number; label: number }>(clickhouse, routeScoresSql(database, model, version, route, sinceMs));
    const counts = await queryRows<{ predictions: string; degraded: string }>(clickhouse, degradedSql(database, model, version, route, sinceMs));
    return {
      labelled: rows.length,
      auc: rocAuc(rows.map((r) => (r.label >= 0.5 ? 1 : 0)), rows.map((r) => r.score)),
      predictions: Number(counts[0]?.predictions ?? 0),
      degraded: Number(counts[0]?.degraded ?? 0),
    };
  };

  const closeRollout = async (model: string, rollout: StagedRollout & { readonly phase: "shadow" | "canary" }, gate: GateResult) => {
    await registry.transition(model, rollout.version, rollout.phase === "shadow" ? Stage.SHADOW : Stage.CANARY, Stage.ARCHIVED, gateSummary(gate), gate);
    setRollout(model, { phase: "idle" });
    await decide({ model, modelVersion: rollout.champion, policy: "promotion", action: "rejected", reason: gateSummary(gate), evidence: gate, challenger: rollout.version, retrainId: rollout.retrainId });
  };

  const advanceShadow = async (model: string, rollout: Extract<Rollout, { phase: "shadow" }>) => {
    const policy = deps.policies.forModel(model);
    const rows = await queryRows<{ champion: number; challenger: number; label: number }>(clickhouse, shadowPairsSql(database, model, rollout.champion, rollout.version, rollout.sinceMs));
    const gate = shadowGate(
      { labels: rows.map((r) => (r.label >= 0.5 ? 1 : 0)), champion: rows.map((r) => r.champion), challenger: rows.map((r) => r.challenger) },
      policy.shadow,
      now() - rollout.sinceMs,
      policy.training.seed,
    );
    if (gate.status === "waiting") return;
    if (gate.status === "failed") return closeRollout(model, rollout, gate);
    await registry.setCanaryPercent(model, rollout.version, policy.canary.percent);
    await registry.transition(model, rollout.version, Stage.SHADOW, Stage.CANARY, gateSummary(gate), gate);
    setRollout(model, { ...rollout, phase: "canary", sinceMs: now() });
    await decide({ model, modelVersion: rollout.champion, policy: "promotion", action: "canary", reason: `${gateSummary(gate)}; canary at ${policy.canary.percent}%`, evidence: gate, challenger: rollout.version, retrainId: rollout.retrainId });
  };

  const advanceCanary = async (model: string, rollout: Extract<Rollout, { phase: "canary" }>) => {
    const policy = deps.policies.forModel(model);
    const canary = await liveMetrics(model, rollout.version, ROUTE_TEXT.canary, rollout.sinceMs);
    const production = await liveMetrics(model, rollout.champion, ROUTE_TEXT.production, rollout.sinceMs);
    const gate = canaryGate(canary, production, policy.canary, now() - rollout.sinceMs);
    if (gate.status === "waiting") return;
    if (gate.status === "failed") return closeRollout(model, rollout, gate);
    // The champion's live AUC before the switch is the baseline the rollback watch compares with.
    const previous = await registry.version(model, rollout.champion);
    const baselineAuc = liveAuc.get(`${model}/${rollout.champion}`)?.auc ?? production.auc ?? previous.metrics["auc"];
    await registry.transition(model, rollout.version, Stage.CANARY, Stage.PRODUCTION, gateSummary(gate), gate, rollout.champion);
    champions.set(model, rollout.version);
    setRollout(model, { phase: "watch", retrainId: rollout.retrainId, version: rollout.version, previous: rollout.champion, baselineAuc, sinceMs: now() });
    await decide({ model, modelVersion: rollout.version, policy: "promotion", action: "promoted", reason: gateSummary(gate), evidence: { gate, baseline_auc: baselineAuc ?? null }, challenger: rollout.version, retrainId: rollout.retrainId });
  };

  const advanceWatch = async (model: string, rollout: Extract<Rollout, { phase: "watch" }>) => {
    const policy = deps.policies.forModel(model);
    const live = liveAuc.get(`${model}/${rollout.version}`);
    const counts = await queryRows<{ predictions: string; degraded: string }>(clickhouse, degradedSql(database, model, rollout.version, ROUTE_TEXT.production, rollout.sinceMs));
    const facts = {
      auc: live !== undefined && live.windowEndMs > rollout.sinceMs ? live.auc : undefined,
      labelled: live?.labelled ?? 0,
      baselineAuc: rollout.baselineAuc,
      predictions: Number(counts[0]?.predictions ?? 0),
      degraded: Number(counts[0]?.degraded ?? 0),
    };
    const verdict = watchVerdict(facts, policy.rollback, now() - rollout.sinceMs);
    if (verdict.action === "watch") return;
    setRollout(model, { phase: "idle" });
    if (verdict.action === "confirmed") {
      await decide({ model, modelVersion: rollout.version, policy: "rollback", action: "confirmed", reason: `no regression in the ${policy.rollback.watchMs} ms watch window`, evidence: facts, retrainId: rollout.retrainId });
      return;
    }
    const restored = await registry.rollback(model, rollout.previous, `automatic rollback: ${verdict.reason}`, facts);
    champions.set(model, restored.version);
    // The policies start over for the restored champion.
    policyState.set(model, { ...stateOf(model), driftStreak: 0, streakVersion: restored.version });
    await decide({ model, modelVersion: rollout.version, policy: "rollback", action: "rolled_back", reason: verdict.reason, evidence: { ...facts, restored: restored.version }, challenger: rollout.version, retrainId: rollout.retrainId });
  };

  // A champion promoted outside retrain-trigger (an operator, the CLI) is watched like one of ours:
  // if its live metrics fall below those of the champion it replaced, it is rolled back.
  const noticeExternalChampions = async (): Promise<void> => {
    const models = new Set([...deps.policies.keys()].filter((m) => m !== "*"));
    for (const key of liveAuc.keys()) models.add(key.slice(0, key.lastIndexOf("/")));
    for (const model of models) {
      try {
        const current = (await registry.production(model))?.version;
        const known = champions.get(model);
        if (current === undefined) continue;
        if (known === undefined || current === known) {
          champions.set(model, current);
          continue;
        }
        const rollout = rolloutOf(model);
        if (rollout.phase === "watch" && rollout.version === current) {
          champions.set(model, current);
          continue;
        }
        // Mid-training, shadow or canary: look again once that rollout has settled.
        if (rollout.phase !== "idle" && rollout.phase !== "watch") continue;
        // Idle, or watching a champion that has since been replaced: the newcomer takes over the watch.
        champions.set(model, current);
        const baselineAuc = liveAuc.get(`${model}/${known}`)?.auc ?? (await registry.version(model, known)).metrics["auc"];
        setRollout(model, { phase: "watch", retrainId: `external-${model}-${current}`, version: current, previous: known, baselineAuc, sinceMs: now() });
        await decide({
          model,
          modelVersion: current,
          policy: "rollback",
          action: "watching",
          reason: `v${current} replaced v${known} outside retrain-trigger; watched against v${known}'s live AUC ${baselineAuc?.toFixed(4) ?? "n/a"}`,
          evidence: { previous: known, baseline_auc: baselineAuc ?? null },
        });
      } catch (err) {
        logger.warn("could not check the production version; retried next tick", { model, err });
      }
    }
  };

  const tickOnce = async (): Promise<void> => {
    await noticeExternalChampions();
    for (const [model, rollout] of [...rollouts]) {
      try {
        if (rollout.phase === "shadow") await advanceShadow(model, rollout);
        else if (rollout.phase === "canary") await advanceCanary(model, rollout);
        else if (rollout.phase === "watch") await advanceWatch(model, rollout);
      } catch (err) {
        logger.warn("rollout step failed; retried next tick", { model, phase: rollout.phase, err });
      }
    }
    for (const model of deps.policies.keys()) {
      const verdict = evaluateSchedule(stateOf(model), deps.policies.forModel(model), now(), startedMs);
      if (verdict === undefined) continue;
      policyState.set(model, { ...stateOf(model), lastScheduleMs: now() });
      try {
        await fire(model, await registry.production(model), verdict);
      } catch (err) {
        logger.warn("scheduled retrain could not start", { model, err });
      }
    }
  };

  return {
    onDriftReport,
    tick: () => {
      // One tick at a time: a slow ClickHouse must not stack up concurrent steps of one rollout.
      ticking ??= tickOnce().finally(() => {
        ticking = undefined;
      });
      return ticking;
    },
    retrain: async (model, reason) => {
      const production = await registry.production(model);
      return fire(model, production, { policy: "manual", fired: true, reason: `manual: ${reason}`, evidence: { requested_by: "operator" } });
    },
    resume: async () => {
      let resumed = 0;
      for (const { version, production } of await registry.challengersInFlight()) {
        if (rolloutOf(version.model).phase !== "idle") continue;
        const staged = { retrainId: version.tags["retrain_id"] ?? "", version: version.version, champion: production, sinceMs: Number(version.updatedAtMs) };
        setRollout(version.model, version.stage === Stage.SHADOW ? { phase: "shadow", ...staged } : { phase: "canary", ...staged });
        logger.info("resumed a rollout", { model: version.model, version: version.version, phase: Stage[version.stage], champion: production });
        resumed++;
      }
      return resumed;
    },
    status: () => [...new Set([...rollouts.keys(), ...policyState.keys()])].map((model) => ({ model, rollout: rolloutOf(model), policy: stateOf(model) })),
    idle: async () => {
      while (jobs.size > 0) await Promise.allSettled([...jobs]);
    },
  };
}
