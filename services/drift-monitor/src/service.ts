import { toBinary } from "@bufbuild/protobuf";
import {
  ConfigError,
  createAdminServer,
  createKafka,
  dlqTopic,
  publishDeadLetters,
  topicName,
  topicSpecs,
  type AdminServer,
  type BatchConsumer,
  type ConsumedRecord,
  type DeadLetterReason,
  type KafkaProducer,
  type Logger,
  type Metrics,
  type OutgoingRecord,
  type RecordBatch,
} from "@loopline/kit";
import { DriftReportSchema } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import type { DriftMonitorConfig } from "./config.js";
import { decodeLabel, decodePrediction, isProblem, type Prediction } from "./decode.js";
import { createDriftMetrics } from "./drift-metrics.js";
import { createDriftMonitor, type EmittedReport } from "./monitor.js";
import { parseSegmentKeys } from "./segments.js";
import { createRegistryVersionSource, createVersionCatalog, type VersionSource } from "./version-catalog.js";

/** Dependencies a caller may supply (tests pass their own clock or version source). */
export interface DriftMonitorDeps {
  logger: Logger;
  metrics: Metrics;
  /** Model versions. Default: the registry at config.registryAddress. */
  versions?: VersionSource;
  /** Wall clock of the windows. Default Date.now. */
  now?: () => number;
}

/** A built drift-monitor. */
export interface DriftMonitorService {
  start(): Promise<void>;
  /** Stops consuming, reports open windows that hold the minimum, publishes what is pending, closes clients. */
  close(): Promise<void>;
  readonly adminPort: number;
}

/** Most reports held for publishing while Kafka is away; beyond it the oldest are dropped (and counted). */
const MAX_OUTBOX = 10_000;

const HEADERS = { "content-type": "application/x-protobuf" };

/** Builds drift-monitor from its config; nothing reads process.env here. */
export function createDriftMonitorService(config: DriftMonitorConfig, deps: DriftMonitorDeps): DriftMonitorService {
  const { logger } = deps;
  const segments = parseSegmentKeys(config.segmentKeys);
  if ("problem" in segments) throw new ConfigError([{ variable: "LOOPLINE_DRIFT_SEGMENT_KEYS", problem: segments.problem }]);
  const metrics = createDriftMetrics(deps.metrics);
  const versions = deps.versions ?? createRegistryVersionSource({ address: config.registryAddress, timeoutMs: config.registryTimeoutMs });
  const catalog = createVersionCatalog({ source: versions, ...(deps.now === undefined ? {} : { now: deps.now }) });
  const monitor = createDriftMonitor({
    windowSize: config.windowSize,
    windowIntervalMs: config.windowIntervalMs,
    minWindow: config.minWindow,
    segmentKeys: segments.keys,
    maxSegmentValues: config.maxSegmentValues,
    driftShare: config.driftShare,
    joinBufferSize: config.joinBufferSize,
    labelledWindows: config.labelledWindows,
    labelTimeToleranceMs: config.labelTimeToleranceMs,
    labelWaitMs: config.labelWaitMs,
    maxWaitingLabels: config.maxWaitingLabels,
    refreshIntervalMs: config.refreshIntervalMs,
    idleTtlMs: config.idleTtlMs,
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: "drift-monitor", logger });
  const predictionsTopic = topicName(config.topicPrefix, "predictions");
  const labelsTopic = topicName(config.topicPrefix, "labels");
  const driftTopic = topicName(config.topicPrefix, "drift");

  let producer: KafkaProducer | undefined;
  let consumer: BatchConsumer | undefined;
  let admin: AdminServer | undefined;
  let ticker: NodeJS.Timeout | undefined;

  // Reports wait here until published; a failed publish keeps them for the next attempt. Window state is
  // not replayed, so a batch handler never fails after it has changed the windows.
  let outbox: EmittedReport[] = [];
  let flushing: Promise<void> = Promise.resolve();

  const collect = () => {
    outbox.push(...monitor.takeReports());
    if (outbox.length > MAX_OUTBOX) {
      const dropped = outbox.length - MAX_OUTBOX;
      outbox = outbox.slice(dropped);
      metrics.published.inc({ kind: "dropped" }, dropped);
      logger.error("drift reports DROPPED: Kafka unreachable for too long", { dropped });
    }
    for (const key of monitor.takeForgotten()) metrics.forget(key);
  };

  const publish = async () => {
    if (producer === undefined || outbox.length === 0) return;
    // Take the reports out: collect() may append new ones while the send is in flight.
    const batch = outbox;
    outbox = [];
    const records: OutgoingRecord[] = batch.map((e) => ({ key: e.report.model, value: Buffer.from(toBinary(DriftReportSchema, e.report)), headers: HEADERS }));
    try {
      await producer.send(driftTopic, records);
    } catch (err) {
      outbox = [...batch, ...outbox];
      metrics.publishFailures.inc();
      logger.warn("drift reports not published; kept and retried", { reports: batch.length, err });
      return;
    }
    for (const e of batch) {
      metrics.observe(e);
      metrics.published.inc({ kind: e.kind });
      if (e.kind === "closed") {
        logger.info("window reported", {
          model: e.report.model,
          version: e.report.modelVersion,
          segment: e.report.segment,
          predictions: Number(e.report.nCurrent),
          driftedShare: e.report.driftedShare,
          datasetDrift: e.report.datasetDrift,
        });
      }
    }
  };

  /** Publishes what is waiting; runs one at a time and never rejects. */
  const flush = (): Promise<void> => {
    collect();
    flushing = flushing.then(publish).catch((err: unknown) => logger.error("publishing drift reports failed", { err }));
    return flushing;
  };

  const updateStateGauges = () => {
    const s = monitor.stats;
    metrics.state.set({ what: "series" }, s.series);
    metrics.state.set({ what: "open_predictions" }, s.openPredictions);
    metrics.state.set({ what: "join_buffer" }, s.joinBuffer);
    metrics.state.set({ what: "waiting_labels" }, s.waitingLabels);
    metrics.state.set({ what: "outbox" }, outbox.length);
  };

  const handlePredictions = async (records: readonly ConsumedRecord[]) => {
    const dead: { record: ConsumedRecord; reason: DeadLetterReason }[] = [];
    const decoded: Prediction[] = [];
    for (const record of records) {
      const p = decodePrediction(record.value ?? new Uint8Array());
      if (isProblem(p)) dead.push({ record, reason: p });
      else decoded.push(p);
    }
    // Every version first: if the registry is away this throws before any window changed, and the
    // consumer retries the same batch.
    await catalog.load(decoded.map((p) => [p.model, p.modelVersion] as const));
    if (dead.length > 0 && producer !== undefined) await publishDeadLetters(producer, "drift-monitor", dead);
    let accepted = 0;
    let duplicates = 0;
    let unknown = 0;
    for (const p of decoded) {
      const version = catalog.get(p.model, p.modelVersion);
      if (version === undefined) unknown++;
      else if (monitor.addPrediction(p, version)) accepted++;
      else duplicates++;
    }
    metrics.records.inc({ topic: "predictions", outcome: "accepted" }, accepted);
    if (duplicates > 0) metrics.records.inc({ topic: "predictions", outcome: "duplicate" }, duplicates);
    if (unknown > 0) {
      metrics.records.inc({ topic: "predictions", outcome: "unknown_version" }, unknown);
      logger.warn("predictions of versions the registry does not know were skipped", { count: unknown });
    }
    if (dead.length > 0) {
      metrics.records.inc({ topic: "predictions", outcome: "dead_lettered" }, dead.length);
      logger.warn("prediction records dead-lettered", { count: dead.length, first: dead[0]?.reason.code });
    }
  };

  const handleLabels = async (records: readonly ConsumedRecord[]) => {
    const dead: { record: ConsumedRecord; reason: DeadLetterReason }[] = [];
    let joined = 0;
    let waiting = 0;
    for (const record of records) {
      const l = decodeLabel(record.value ?? new Uint8Array(), record.headers["content-type"]?.toString("latin1"));
      if (isProblem(l)) {
        dead.push({ record, reason: l });
        continue;
      }
      if (monitor.addLabel(l) > 0) joined++;
      else waiting++;
    }
    if (dead.length > 0 && producer !== undefined) await publishDeadLetters(producer, "drift-monitor", dead).catch((err: unknown) => logger.error("label dead letters not published", { err }));
    if (joined > 0) metrics.labels.inc({ outcome: "joined" }, joined);
    if (waiting > 0) metrics.labels.inc({ outcome: "waiting" }, waiting);
    metrics.records.inc({ topic: "labels", outcome: "accepted" }, joined + waiting);
    if (dead.length > 0) {
      metrics.records.inc({ topic: "labels", outcome: "dead_lettered" }, dead.length);
      logger.warn("labels dead-lettered", { count: dead.length, first: dead[0]?.reason.code });
    }
  };

  return {
    get adminPort() {
      return admin?.port ?? 0;
    },
    start: async () => {
      admin = await createAdminServer({
        port: config.adminPort,
        host: config.adminHost,
        metrics: deps.metrics,
        logger,
        readiness: [
          { name: "kafka", check: () => kafka.ping() },
          { name: "model-registry", check: () => versions.ping() },
        ],
      });
      await kafka.waitUntilReachable();
      await kafka.ensureTopics(topicSpecs(config.topicPrefix, [predictionsTopic, labelsTopic, driftTopic, dlqTopic(predictionsTopic), dlqTopic(labelsTopic)]));
      producer = await kafka.createProducer();
      consumer = kafka.createConsumer({
        groupId: config.consumerGroup,
        topics: [predictionsTopic, labelsTopic],
        sessionTimeoutMs: config.sessionTimeoutMs,
        metrics: deps.metrics,
        handler: async (batch: RecordBatch) => {
          if (batch.topic === predictionsTopic) await handlePredictions(batch.records);
          else await handleLabels(batch.records);
          void flush();
          updateStateGauges();
        },
      });
      await consumer.start();
      ticker = setInterval(() => {
        monitor.tick();
        void flush();
        updateStateGauges();
      }, config.tickMs);
      ticker.unref();
      logger.info("drift-monitor started", {
        inputs: [predictionsTopic, labelsTopic],
        output: driftTopic,
        windowSize: config.windowSize,
        windowIntervalMs: config.windowIntervalMs,
        segments: segments.keys.map((k) => `${k.name}=${k.featureRef}`),
        adminPort: admin.port,
      });
    },
    close: async () => {
      admin?.setDraining();
      clearInterval(ticker);
      await consumer?.close();
      // Windows that hold the minimum are reported rather than lost with the process.
      monitor.closeAll();
      await flush();
      if (outbox.length > 0) logger.error("drift reports LOST at shutdown: Kafka unreachable", { lost: outbox.length });
      await producer?.close();
      await kafka.close();
      versions.close();
      await admin?.close();
    },
  };
}
