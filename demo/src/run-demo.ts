import { create, fromBinary } from "@bufbuild/protobuf";
import { getFeatureView, pointInTime, type Event } from "@loopline/features";
import {
  applyMigrations,
  createClickHouse,
  createKafka,
  createRedis,
  deleteKeysMatching,
  execute,
  queryRows,
  quoteIdentifier,
  silentLogger,
  sql,
  topicSpecs,
  type KafkaProducer,
} from "@loopline/kit";
import { createClient, toFeatureValue } from "@loopline/proto";
import { DriftReportSchema, RetrainDecisionSchema } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import { Inference } from "@loopline/proto/gen/loopline/v1/inference_pb.js";
import { Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { ModelRegistry, RegisterVersionRequestSchema, Stage, VersionStatus } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { FeatureStatus } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { createLogisticTrainer, numericSignature, trainChallenger, type TrainingSet } from "@loopline/trainer";
import { PORTS, ROOT, startServices, type DemoScope, type ServiceName } from "./services.js";
import { auc, createStory, type Story, type TimelineEntry } from "./story.js";
import { createWorld, eventJson, type Transaction } from "./world.js";

/** Knobs of a demo run; the defaults tell the full story in a few minutes. */
export interface DemoOptions {
  /** Seed of the synthetic world. Default 7. */
  seed?: number;
  /** Cards in the world. Default 20000. */
  cards?: number;
  /** Minutes of history, at the live rate, replayed before live traffic. The first 10 fill the windows; the model trains on the rest. Default 14. */
  historyMinutes?: number;
  /** Live transactions per second. Default 120. */
  rate?: number;
  /** Seconds of live traffic before the drift is injected. Default 60. */
  beforeDriftSeconds?: number;
  /** Give up after this many seconds of live traffic. Default 480. */
  maxLiveSeconds?: number;
  /** Chargeback delay range, seconds. Default [3, 8]. */
  labelDelaySeconds?: [number, number];
  /** Where lines go. Default stdout. */
  print?: (line: string) => void;
  /** Per-service environment overrides (tests shorten windows further). */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
}

/** What the run established. */
export interface DemoSummary {
  timeline: TimelineEntry[];
  champion: string;
  challenger: string | undefined;
  badChallenger: string | undefined;
  /** Post-drift AUC of the old champion and of the promoted challenger on the same labelled requests. */
  postDriftAuc: { champion: number | undefined; challenger: number | undefined; pairs: number };
  finalProduction: string | undefined;
  badReachedProduction: boolean;
  badRolledBack: boolean;
  scope: DemoScope;
  /** A card of the history, for the CLI lines the summary ends with. */
  sampleCard: string | undefined;
}

const MODEL = "fraud";

/**
 * The demo model's inputs: windows of at most ten minutes (plus the last amount), so ten minutes of
 * replayed history at the live rate put training and live traffic on the same footing. (The full
 * fraud_v1 set has 24h and 7d windows that a few minutes of simulated traffic cannot fill.)
 */
export const DEMO_FEATURES = ["card_txn:txn_count_10m", "card_txn:amount_sum_10m", "card_txn:amount_mean_10m", "card_txn:amount_max_10m", "card_txn:last_amount"];

/** The retrain policy the demo runs with: the loop's timings compressed from hours to seconds. */
export function demoPolicies(): string {
  return JSON.stringify({
    [MODEL]: {
      drift: { enabled: true, drifted_share: 0.5, consecutive: 2 },
      decay: { enabled: true, auc_floor: 0.7, max_drop: 0.08, min_labelled: 150 },
      cooldown: "30s",
      training: { lookback: "45s", sample_rate: 1, max_rows: 50000, holdout_fraction: 0.3, seed: 7, threshold: "max_f1" },
      offline: { auc_epsilon: 0.0, min_auc: 0.6, max_calibration_error: 0.25, latency_budget_ms: 5 },
      shadow: { min_labelled: 250, confidence: 0.9, auc_epsilon: 0.0, resamples: 300, timeout: "3m" },
      canary: { percent: 30, min_labelled: 120, max_auc_drop: 0.05, timeout: "3m" },
      rollback: { watch: "2m", auc_drop: 0.08, min_labelled: 120, max_degraded_share: 0.2, min_predictions: 100 },
    },
  });
}

/** Runs the whole story; resolves with what happened. Ctrl-C stops everything cleanly. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const seed = options.seed ?? 7;
  const rate = options.rate ?? 120;
  const print = options.print ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const story = createStory(print);
  const run = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const scope: DemoScope = {
    run,
    topicPrefix: `demo-${run}.`,
    redisPrefix: `demo:${run}:`,
    database: `loopline_demo_${run}`,
    dir: `${ROOT}.loopline/demo/${run}`,
  };
  const view = getFeatureView("card_txn");

  print(`Loopline demo — card fraud through the whole loop (seed ${seed}, run ${run})`);
  print(`topics ${scope.topicPrefix}*, ClickHouse database ${scope.database}, logs in ${scope.dir.replace(ROOT, "")}/`);

  // ---- ClickHouse: a database of this run's own, with the same migrations as production --------
  // (DROP DATABASE takes tens of seconds on 18.16, so earlier runs' databases are dropped in the
  // background instead of being reused.)
  const chUrl = process.env["LOOPLINE_CLICKHOUSE_URL"] ?? "http://127.0.0.1:8123";
  const clickhouse = createClickHouse({ url: chUrl, requestTimeoutMs: 300_000 });
  const old = await queryRows<{ name: string }>(clickhouse, sql`SELECT name FROM system.databases WHERE name LIKE 'loopline\\_demo%' AND name != ${scope.database}`);
  const dropping = Promise.allSettled(old.map((d) => execute(clickhouse, `DROP DATABASE IF EXISTS ${quoteIdentifier(d.name)}`)));
  await applyMigrations({ client: clickhouse, database: scope.database, dir: `${ROOT}infra/clickhouse`, logger: silentLogger });
  const db = createClickHouse({ url: process.env["LOOPLINE_CLICKHOUSE_URL"] ?? "http://127.0.0.1:8123", database: scope.database });

  // ---- services ---------------------------------------------------------------------------------
  story.progress("starting the seven services (their own ports and topics, beside any `make up` stack)…");
  const services = await startServices(
    scope,
    {
      // Windows of 2000 predictions (~17 s at the default rate): smaller ones make Evidently's
      // Wasserstein test (threshold 0.1) flag sampling noise on heavy-tailed amounts.
      "drift-monitor": { LOOPLINE_DRIFT_WINDOW_SIZE: "2000", LOOPLINE_DRIFT_WINDOW_INTERVAL: "20s", LOOPLINE_DRIFT_MIN_WINDOW: "500", ...options.serviceEnv?.["drift-monitor"] },
      "retrain-trigger": { LOOPLINE_RETRAIN_POLICIES: demoPolicies(), LOOPLINE_RETRAIN_TICK: "3s", LOOPLINE_RETRAIN_ACTOR: "retrain-trigger", ...options.serviceEnv?.["retrain-trigger"] },
      ...Object.fromEntries(Object.entries(options.serviceEnv ?? {}).filter(([k]) => k !== "drift-monitor" && k !== "retrain-trigger")),
    },
    (line) => story.progress(line),
  );
  const kafka = createKafka({ brokers: (process.env["LOOPLINE_KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(","), clientId: "demo", logger: silentLogger });
  // Earlier runs' Redis keys (window state, features) and topics are forgotten in the background,
  // as their ClickHouse databases are: left behind, every run added ~20k keys that Redis then
  // re-wrote to disk on each snapshot.
  const redis = createRedis({ url: process.env["LOOPLINE_REDIS_URL"] ?? "redis://127.0.0.1:6379", logger: silentLogger, mode: "background" });
  const forgetting = Promise.allSettled([
    deleteKeysMatching(redis, "demo:*", (key) => key.startsWith(scope.redisPrefix)),
    kafka.listTopics().then((topics) => kafka.deleteTopics(topics.filter((t) => /^demo-\d{14}\./.test(t) && !t.startsWith(scope.topicPrefix)))),
  ]);
  const registry = createClient(ModelRegistry, `127.0.0.1:${PORTS.registry}`, { timeoutMs: 30_000 });
  const inference = createClient(Inference, `127.0.0.1:${PORTS.inference}`, { timeoutMs: 5_000 });
  let producer: KafkaProducer | undefined;
  let stopping = false;
  const cleanups: (() => Promise<void>)[] = [];
  const shutdown = async () => {
    stopping = true;
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    registry.close();
    inference.close();
    await producer?.close().catch(() => undefined);
    await kafka.close().catch(() => undefined);
    await services.stop();
    await db.close();
    await Promise.race([Promise.all([dropping, forgetting]), new Promise((r) => setTimeout(r, 1000))]);
    redis.disconnect();
    await clickhouse.close();
  };
  const onSignal = () => {
    print("\ninterrupted: stopping every service cleanly…");
    shutdown().then(
      () => process.exit(130),
      () => process.exit(130),
    );
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    producer = await kafka.createProducer();
    const topic = (base: string) => `${scope.topicPrefix}${base}`;

    // ---- watchers: registry change feed, drift reports, retrain decisions -----------------------
    const stageOf = new Map<string, Stage>();
    let productionVersion: string | undefined;
    const productionHistory: string[] = [];
    // The change feed, resumed from the last sequence seen whenever the stream breaks.
    const watch = (async () => {
      let from = 0n;
      while (!stopping) {
        try {
          for await (const change of registry.watchChanges({ fromSequence: from, model: MODEL }, { deadline: new Date(Date.now() + 3_600_000) })) {
            const e = change.event;
            if (e === undefined || stopping) break;
            from = e.sequence + 1n;
            if (e.toStage !== Stage.UNSPECIFIED && e.snapshot !== undefined) {
              stageOf.set(e.version, e.toStage);
              if (e.toStage === Stage.PRODUCTION) {
                productionVersion = e.version;
                productionHistory.push(e.version);
              }
              story.mark(`registry: ${MODEL} v${e.version} → ${Stage[e.toStage]?.toLowerCase()} (by ${e.actor})`);
            }
          }
        } catch {
          if (!stopping) await new Promise((r) => setTimeout(r, 500));
        }
      }
    })();
    cleanups.push(async () => {
      await Promise.race([watch, new Promise((r) => setTimeout(r, 100))]);
    });
    const drift = new Map<string, { share: number; auc: number | undefined; windows: number }>();
    const driftConsumer = kafka.createConsumer({
      groupId: `${scope.topicPrefix}demo-drift`,
      topics: [topic("drift")],
      handler: async (b) => {
        for (const r of b.records) {
          const rep = fromBinary(DriftReportSchema, r.value ?? new Uint8Array());
          if (rep.segment !== "" || rep.route !== Route.PRODUCTION) continue;
          const prev = drift.get(rep.modelVersion);
          drift.set(rep.modelVersion, { share: rep.driftedShare, auc: rep.performance?.auc ?? prev?.auc, windows: (prev?.windows ?? 0) + 1 });
          if (rep.datasetDrift && !(prev !== undefined && prev.share >= 0.5)) {
            const top = [...rep.features].filter((f) => f.drifted).sort((a, b) => b.statistic - a.statistic).slice(0, 3);
            story.mark(`drift-monitor: dataset drift on v${rep.modelVersion} (${(rep.driftedShare * 100).toFixed(0)}% of features drifted: ${top.map((f) => `${f.column.replace("card_txn:", "")} ${f.method}=${f.statistic.toFixed(2)}`).join(", ")})`);
          }
        }
      },
    });
    await kafka.ensureTopics(topicSpecs(scope.topicPrefix, [topic("drift"), topic("retrain")]));
    await driftConsumer.start();
    cleanups.push(() => driftConsumer.close());
    const retrainConsumer = kafka.createConsumer({
      groupId: `${scope.topicPrefix}demo-retrain`,
      topics: [topic("retrain")],
      handler: async (b) => {
        for (const r of b.records) {
          const d = fromBinary(RetrainDecisionSchema, r.value ?? new Uint8Array());
          if (d.action === "declined") continue; // evaluations that changed nothing: in loopline.retrain, not on screen
          story.mark(`retrain-trigger: ${d.policy} → ${d.action}${d.challengerVersion ? ` v${d.challengerVersion}` : ""}: ${d.reason}`);
        }
      },
    });
    await retrainConsumer.start();
    cleanups.push(() => retrainConsumer.close());

    // ---- history and the first champion --------------------------------------------------------
    const world = createWorld({ seed, cards: options.cards ?? 20_000, campaignRate: 0.02, driftCampaignRate: 0.005 });
    const historyMinutes = options.historyMinutes ?? 14;
    const historyN = Math.round(rate * historyMinutes * 60);
    const now0 = Date.now();
    const history: Transaction[] = [];
    for (let i = 0; i < historyN; i++) history.push(world.next(now0 - historyMinutes * 60_000 + Math.floor((i * historyMinutes * 60_000) / historyN), false));
    story.progress(`replaying ${historyN} historical transactions (the last ${historyMinutes} minutes at the live rate) into ${topic("events")}…`);
    for (let i = 0; i < history.length; i += 2000) {
      await producer.send(topic("events"), history.slice(i, i + 2000).map((tx) => ({ key: tx.cardId, value: eventJson(tx) })));
    }
    const events: Event[] = history.map((tx) => ({
      eventId: tx.eventId,
      entity: "card",
      entityId: tx.cardId,
      eventTime: tx.time,
      type: "transaction",
      fields: { card_id: tx.cardId, amount: tx.amount, merchant_category: tx.merchantCategory, country: tx.country, channel: tx.channel },
    }));
    // Live traffic starts only once the history is readable in the feature store: scoring cards
    // whose features are still in the ingest queue would make the first champion look broken.
    const caughtUp = async (group: string, t: string) => {
      const ends = await kafka.topicEndOffsets(t);
      const done = await kafka.groupOffsets(group, t);
      return ends.every((e) => e.offset === "0" || done.find((d) => d.partition === e.partition)?.offset === e.offset);
    };
    const loaded = Date.now();
    while (!((await caughtUp(`${scope.topicPrefix}feature-ingest`, topic("events"))) && (await caughtUp(`${scope.topicPrefix}feature-store`, topic("features"))))) {
      if (Date.now() - loaded > 180_000) throw new Error("feature-ingest/feature-store did not catch up with the history within 3 minutes; see their logs");
      await new Promise((r) => setTimeout(r, 250));
    }
    story.progress(`history readable in the feature store (${((Date.now() - loaded) / 1000).toFixed(1)} s after the last event was published)`);

    // Train on the history after its first ten minutes: before that the ten-minute windows are still
    // filling, and a model (and its reference profile) from them would not look like live traffic.
    const warm = history.filter((tx) => tx.time >= now0 - historyMinutes * 60_000 + 10 * 60_000);
    const rows = pointInTime(view, events, warm.map((tx) => ({ entityId: tx.cardId, at: tx.time })));
    const names = DEMO_FEATURES.map((ref) => ref.slice(ref.indexOf(":") + 1));
    const set: TrainingSet = {
      featureRefs: DEMO_FEATURES,
      query: `replay of ${historyN} demo transactions (seed ${seed}) through card_txn, point-in-time at each of the ${warm.length} after the first 10 minutes`,
      examples: warm.map((tx, i) => ({
        id: tx.eventId,
        timeMs: tx.time,
        values: names.map((name) => {
          const v = rows[i]?.values[name];
          return v === null || v === undefined ? undefined : toFeatureValue(v);
        }),
        statuses: names.map(() => FeatureStatus.PRESENT),
        label: tx.fraud ? 1 : 0,
      })),
    };
    const champion = await trainChallenger({ model: MODEL, trainer: createLogisticTrainer({ c: 1 }), set, signature: numericSignature(DEMO_FEATURES), threshold: "max_f1", seed });
    story.mark(`trained the first model on replayed history: holdout AUC ${champion.holdout.auc?.toFixed(3)}, ${champion.lineage.trainingRows} rows, ${(champion.holdout.positives / Math.max(1, champion.holdout.rows) * 100).toFixed(1)}% fraud`);
    const v1 = await registerTrained(registry, champion, "initial model: logistic regression on replayed history");
    await registry.transitionStage({ model: MODEL, version: v1, toStage: Stage.PRODUCTION, expectedStage: Stage.CANDIDATE, actor: "demo", reason: "first champion", evidenceJson: JSON.stringify({ holdout_auc: champion.holdout.auc }) });
    productionVersion = v1;
    const ready = Date.now();
    for (;;) {
      const r = await inference.predict({ model: MODEL, entityId: history[0]?.cardId ?? "card-00000" }).catch(() => undefined);
      if (r?.modelVersion === v1) break;
      if (Date.now() - ready > 60_000) throw new Error("inference did not load the first champion within 60 s; see inference.log");
      await new Promise((res) => setTimeout(res, 250));
    }
    story.mark(`inference serves ${MODEL} v${v1} in production`);

    // ---- live traffic ------------------------------------------------------------------------------
    const [dMin, dMax] = options.labelDelaySeconds ?? [3, 8];
    const beforeDrift = options.beforeDriftSeconds ?? 60;
    const maxLive = options.maxLiveSeconds ?? 480;
    const liveStart = Date.now();
    let drifted = false;
    let driftAt = 0;
    let sent = 0;
    let answered = 0;
    let failed = 0;
    const byRoute = new Map<string, number>();
    const live: { score: number; label: number; version: string; route: Route; afterDrift: boolean }[] = [];
    const pending = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>) => {
      pending.add(p);
      void p.finally(() => pending.delete(p));
    };
    let badVersion: string | undefined;
    let challengerVersion: string | undefined;
    let badRolledBack = false;
    let phaseBadStarted = 0;
    let lastProgress = 0;

    while (!stopping && (Date.now() - liveStart) / 1000 < maxLive) {
      const tickStart = Date.now();
      const liveSecs = (tickStart - liveStart) / 1000;
      if (!drifted && liveSecs >= beforeDrift) {
        drifted = true;
        driftAt = Date.now();
        story.mark("DRIFT INJECTED: everyone spends ~1.8x more, merchant mix shifts to transfers, fraud turns into card testing (small domestic e-commerce bursts)");
      }
      const batch: Transaction[] = [];
      for (let i = 0; i < rate / 10; i++) batch.push(world.next(Date.now(), drifted));
      await producer.send(topic("events"), batch.map((tx) => ({ key: tx.cardId, value: eventJson(tx) })));
      sent += batch.length;
      for (const tx of batch) {
        // The gateway scores the card once its transaction has reached the feature store.
        track(
          new Promise((r) => setTimeout(r, 400)).then(async () => {
            try {
              const res = await inference.predict({ model: MODEL, entityId: tx.cardId, requestId: tx.eventId });
              answered++;
              const routeName = `${Route[res.route]?.toLowerCase()} v${res.modelVersion}`;
              byRoute.set(routeName, (byRoute.get(routeName) ?? 0) + 1);
              live.push({ score: res.score, label: tx.fraud ? 1 : 0, version: res.modelVersion, route: res.route, afterDrift: tx.time >= driftAt && drifted });
            } catch {
              failed++;
            }
            // The chargeback (or its absence) is known a few seconds later.
            const delay = (dMin + Math.random() * (dMax - dMin)) * 1000;
            await new Promise((r) => setTimeout(r, delay));
            if (stopping) return;
            await producer?.send(topic("labels"), [{ key: tx.cardId, value: JSON.stringify({ request_id: tx.eventId, label: tx.fraud ? 1 : 0, label_time: Date.now() }) }]);
          }),
        );
      }

      // Once a challenger has replaced the first champion and proved itself, force a bad one.
      if (challengerVersion === undefined && productionVersion !== undefined && productionVersion !== v1) {
        challengerVersion = productionVersion;
      }
      if (challengerVersion !== undefined && badVersion === undefined && Date.now() - (live.length ? 0 : 0) > 0 && productionVersion === challengerVersion && (byRoute.get(`production v${challengerVersion}`) ?? 0) > rate * 20) {
        badVersion = await forceBadChampion(registry, db, story, challengerVersion, seed);
        phaseBadStarted = Date.now();
      }
      if (badVersion !== undefined && !badRolledBack && productionHistory.includes(badVersion) && productionVersion !== badVersion) {
        badRolledBack = true;
      }
      if (badVersion !== undefined && (badRolledBack || (stageOf.get(badVersion) !== undefined && stageOf.get(badVersion) !== Stage.PRODUCTION && !productionHistory.includes(badVersion)))) {
        // Let the restored champion answer a little, then finish.
        if (Date.now() - phaseBadStarted > 15_000) break;
      }

      if (Date.now() - lastProgress >= 5000) {
        lastProgress = Date.now();
        const recent = live.slice(-1500);
        const a = auc(recent.map((x) => x.score), recent.map((x) => x.label));
        const d = drift.get(productionVersion ?? "");
        story.progress(
          `tx ${sent} · answered ${answered}${failed ? ` (${failed} failed)` : ""} · routes ${[...byRoute].map(([k, v]) => `${k}:${v}`).join(" ")} · live AUC (last 1500) ${a?.toFixed(3) ?? "-"} · drifted features ${d ? `${(d.share * 100).toFixed(0)}%` : "-"}`,
        );
      }
      const wait = 100 - (Date.now() - tickStart);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await Promise.allSettled([...pending]);

    // ---- the verdict, from ClickHouse --------------------------------------------------------------
    const paired = challengerVersion === undefined ? undefined : await pairedPostDriftAuc(db, v1, challengerVersion, driftAt);
    const summary: DemoSummary = {
      timeline: story.timeline,
      champion: v1,
      challenger: challengerVersion,
      badChallenger: badVersion,
      postDriftAuc: paired ?? { champion: undefined, challenger: undefined, pairs: 0 },
      finalProduction: productionVersion,
      badReachedProduction: badVersion !== undefined && productionHistory.includes(badVersion),
      badRolledBack,
      scope,
      sampleCard: history[0]?.cardId,
    };
    printSummary(print, summary);
    return summary;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await shutdown();
  }
}

async function registerTrained(
  registry: ReturnType<typeof createClient<typeof ModelRegistry>>,
  trained: Awaited<ReturnType<typeof trainChallenger>>,
  description: string,
): Promise<string> {
  async function* parts() {
    yield create(RegisterVersionRequestSchema, {
      part: {
        case: "header",
        value: {
          model: MODEL,
          description,
          signature: trained.signature,
          lineage: { ...trained.lineage, trainingRows: BigInt(trained.lineage.trainingRows), source: "loopline-demo/logistic-regression", runId: `demo-${Date.now()}` },
          metrics: trained.metrics,
          referenceProfile: trained.profile,
          actor: "demo",
        },
      },
    });
    for (let i = 0; i < trained.onnx.length; i += 256 * 1024) yield create(RegisterVersionRequestSchema, { part: { case: "chunk", value: trained.onnx.subarray(i, i + 256 * 1024) } });
  }
  const res = await registry.registerVersion(parts());
  if (res.version?.status !== VersionStatus.READY) throw new Error(`registration rejected: ${res.version?.statusReason}`);
  return res.version.version;
}

/**
 * A reckless operator's promotion: a model trained on flipped labels pushed straight to
 * production. The retrain-trigger's rollback watch must notice the regression and restore the
 * champion by itself.
 */
async function forceBadChampion(
  registry: ReturnType<typeof createClient<typeof ModelRegistry>>,
  db: ReturnType<typeof createClickHouse>,
  story: Story,
  champion: string,
  seed: number,
): Promise<string> {
  const rows = await queryRows<{ request_id: string; time_ms: string; feature_numbers: number[]; label: number }>(
    db,
    sql`SELECT request_id, time_ms, feature_numbers, label FROM labelled_predictions WHERE model_version = ${champion} AND route = 'production' ORDER BY time_ms DESC LIMIT 5000`,
  );
  // A broken label pipeline: every label flipped. (Merely shuffled labels are not enough: a model
  // with tiny random weights can still rank fraud bursts well, and AUC only sees the ranking.)
  const labels = rows.map((r) => 1 - Number(r.label));
  const set: TrainingSet = {
    featureRefs: DEMO_FEATURES,
    query: "demo: recent labelled predictions with FLIPPED labels (deliberately bad)",
    examples: rows.map((r, i) => ({
      id: r.request_id,
      timeMs: Number(r.time_ms),
      values: r.feature_numbers.map((v) => (Number.isFinite(v) ? toFeatureValue(v) : undefined)),
      statuses: r.feature_numbers.map(() => FeatureStatus.PRESENT),
      label: labels[i] ?? 0,
    })),
  };
  const bad = await trainChallenger({ model: MODEL, trainer: createLogisticTrainer({ c: 1 }), set, signature: numericSignature(DEMO_FEATURES), threshold: 0.5, seed });
  const version = await registerTrained(registry, bad, "deliberately bad: trained on flipped labels");
  story.mark(`demo forces a bad challenger v${version} straight into production, skipping the gates: trained on flipped labels (its own flipped holdout claims AUC ${bad.holdout.auc?.toFixed(3)}; only live labels can tell)`);
  await registry.transitionStage({ model: MODEL, version, toStage: Stage.PRODUCTION, expectedStage: Stage.CANDIDATE, expectedProductionVersion: champion, actor: "demo-operator", reason: "forced promotion without gates (demo)" });
  return version;
}

/** AUC of two versions on the same post-drift requests (production vs shadow copies share request ids). */
async function pairedPostDriftAuc(db: ReturnType<typeof createClickHouse>, champion: string, challenger: string, driftAt: number): Promise<{ champion: number | undefined; challenger: number | undefined; pairs: number }> {
  const rows = await queryRows<{ request_id: string; a: number; b: number; label: number }>(
    db,
    sql`SELECT request_id, anyIf(score, model_version = ${champion}) AS a, anyIf(score, model_version = ${challenger}) AS b, any(label) AS label
        FROM labelled_predictions WHERE time_ms >= ${driftAt} AND model_version IN (${champion}, ${challenger})
        GROUP BY request_id HAVING countIf(model_version = ${champion}) > 0 AND countIf(model_version = ${challenger}) > 0`,
  );
  const labels = rows.map((r) => Number(r.label));
  return { champion: auc(rows.map((r) => Number(r.a)), labels), challenger: auc(rows.map((r) => Number(r.b)), labels), pairs: rows.length };
}

function printSummary(print: (line: string) => void, s: DemoSummary): void {
  print("");
  print("Timeline");
  for (const e of s.timeline) print(`  ${String(e.t).padStart(4)}s  ${e.what}`);
  print("");
  const f = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(3));
  if (s.challenger !== undefined) {
    const margin = s.postDriftAuc.challenger !== undefined && s.postDriftAuc.champion !== undefined ? s.postDriftAuc.challenger - s.postDriftAuc.champion : undefined;
    print(`Post-drift AUC on the same ${s.postDriftAuc.pairs} labelled requests: old champion v${s.champion} ${f(s.postDriftAuc.champion)} → challenger v${s.challenger} ${f(s.postDriftAuc.challenger)}  (margin ${margin === undefined ? "-" : `${margin >= 0 ? "+" : ""}${margin.toFixed(3)}`})`);
  } else {
    print("No challenger was promoted in the time allowed.");
  }
  if (s.badChallenger !== undefined) {
    print(
      s.badRolledBack
        ? `Bad challenger v${s.badChallenger} reached production by force and was rolled back automatically; production is v${s.finalProduction}.`
        : s.badReachedProduction
          ? `Bad challenger v${s.badChallenger} is still in production: the rollback did not happen in time.`
          : `Bad challenger v${s.badChallenger} never reached production.`,
    );
  }
  print("");
  print(`See it in ClickHouse (database ${s.scope.database}):`);
  print(`  clickhouse-client -d ${s.scope.database} -q "SELECT model_version, route, count() AS n, round(avg(score),3) AS mean_score FROM predictions_dedup GROUP BY model_version, route ORDER BY model_version, route"`);
  print(`  clickhouse-client -d ${s.scope.database} -q "SELECT model_version, toStartOfMinute(time) AS minute, max(statistic) AS drifted_share FROM drift_reports_dedup WHERE kind = 'dataset' GROUP BY model_version, minute ORDER BY minute"`);
  print(`  clickhouse-client -d ${s.scope.database} -q "SELECT sequence, model_version, event_type, stage_from, stage_to, actor, reason FROM model_events_dedup ORDER BY sequence"`);
  print(`  clickhouse-client -d ${s.scope.database} -q "SELECT model_version, route, count() AS labelled, round(avg(label),3) AS fraud_rate FROM labelled_predictions GROUP BY model_version, route ORDER BY model_version"`);
  print("");
  print("And with the CLI (the services have stopped; Kafka and ClickHouse keep the run's data):");
  print(`  LOOPLINE_CLICKHOUSE_DATABASE=${s.scope.database} ./loopline drift ${MODEL} --since 1h`);
  print(`  LOOPLINE_TOPIC_PREFIX=${s.scope.topicPrefix} ./loopline replay card_txn ${s.sampleCard ?? "card-00000"}`);
}
