import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  createAdminServer,
  createClickHouse,
  createKafka,
  dlqTopic,
  pingClickHouse,
  publishDeadLetters,
  topicName,
  topicSpecs,
  type AdminServer,
  type BatchConsumer,
  type KafkaProducer,
  type Logger,
  type Metrics,
} from "@loopline/kit";
import { createClient } from "@loopline/proto";
import { DriftReportSchema, RetrainDecisionSchema, type DriftReport } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import { ModelRegistry } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { createTrainer, type Trainer } from "@loopline/trainer";
import type { RetrainConfig } from "./config.js";
import { createRetrainController, type RetrainController } from "./controller.js";
import { createRegistryGateway } from "./registry-gateway.js";

/** Dependencies a caller may supply. */
export interface RetrainServiceDeps {
  logger: Logger;
  metrics: Metrics;
  /** Default: the trainer LOOPLINE_RETRAIN_TRAINER names. */
  trainer?: Trainer;
  /** Default Date.now. */
  now?: () => number;
}

/** A built retrain-trigger: start it, drive it, close it. */
export interface RetrainService {
  start(): Promise<void>;
  /** Stops the tick and the consumer, waits for a running training job, closes clients in reverse order. */
  close(): Promise<void>;
  /** The controller (programmatic entry point: retrain(), tick(), status(), idle()). */
  readonly controller: RetrainController;
  readonly adminPort: number;
}

/** Builds retrain-trigger from its config; nothing reads process.env here. */
export function createRetrainService(config: RetrainConfig, deps: RetrainServiceDeps): RetrainService {
  const { logger, metrics } = deps;
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: "retrain-trigger", logger });
  const clickhouse = createClickHouse({ url: config.clickhouseUrl, database: config.clickhouseDatabase });
  const registryClient = createClient(ModelRegistry, config.registryAddress, { timeoutMs: 60_000 });
  const driftTopic = topicName(config.topicPrefix, "drift");
  const retrainTopic = topicName(config.topicPrefix, "retrain");
  const trainer =
    deps.trainer ??
    createTrainer(config.trainerSpec, {
      logistic: { c: config.logisticC, ...(config.classWeight === "balanced" ? { classWeight: "balanced" as const } : {}) },
      gbt: { trees: config.gbtTrees, maxDepth: config.gbtMaxDepth, learningRate: config.gbtLearningRate, minSamplesLeaf: config.gbtMinSamplesLeaf },
      commandTimeoutMs: config.trainerTimeoutMs,
    });
  let producer: KafkaProducer | undefined;
  let consumer: BatchConsumer | undefined;
  let admin: AdminServer | undefined;
  let timer: NodeJS.Timeout | undefined;
  const invalid = metrics.counter("loopline_retrain_invalid_reports_total", "Drift reports that did not decode (sent to the DLQ)");

  const controller = createRetrainController({
    registry: createRegistryGateway(registryClient, { actor: config.actor, token: config.registryToken }),
    clickhouse,
    database: config.clickhouseDatabase,
    publish: async (decision) => {
      if (producer === undefined) throw new Error("retrain-trigger is not started");
      await producer.send(retrainTopic, [{ key: decision.model, value: Buffer.from(toBinary(RetrainDecisionSchema, decision)), headers: { "content-type": "application/x-protobuf" } }]);
    },
    policies: config.modelPolicies,
    trainer,
    logger,
    metrics,
    ...(deps.now !== undefined ? { now: deps.now } : {}),
  });

  return {
    controller,
    get adminPort() {
      return admin?.port ?? 0;
    },
    start: async () => {
      admin = await createAdminServer({
        port: config.adminPort,
        host: config.adminHost,
        metrics,
        logger,
        readiness: [
          { name: "kafka", check: () => kafka.ping() },
          { name: "clickhouse", check: () => pingClickHouse(clickhouse) },
        ],
      });
      await kafka.waitUntilReachable();
      await kafka.ensureTopics(topicSpecs(config.topicPrefix, [driftTopic, dlqTopic(driftTopic), retrainTopic]));
      producer = await kafka.createProducer();
      const output = producer;
      consumer = kafka.createConsumer({
        groupId: config.consumerGroup,
        topics: [driftTopic],
        metrics,
        // Reports of one model land on one partition in order; a decision waits for the registry, so one partition at a time.
        handler: async (batch, context) => {
          for (const record of batch.records) {
            if (!context.isRunning()) return;
            let report: DriftReport;
            try {
              report = fromBinary(DriftReportSchema, record.value ?? new Uint8Array());
            } catch (err) {
              invalid.inc();
              await publishDeadLetters(output, "retrain-trigger", [{ record, reason: { code: "DECODE_FAILED", detail: `not a loopline.v1.DriftReport: ${(err as Error).message}` } }]);
              continue;
            }
            await controller.onDriftReport(report);
            await context.heartbeat();
          }
        },
      });
      await consumer.start();
      await controller.resume().catch((err: unknown) => logger.warn("could not resume rollouts from the registry; they wait for an operator", { err }));
      const loop = () => {
        timer = setTimeout(() => {
          controller
            .tick()
            .catch((err: unknown) => logger.warn("tick failed", { err }))
            .finally(() => {
              if (timer !== undefined) loop();
            });
        }, config.tickMs);
      };
      loop();
      logger.info("retrain-trigger started", { adminPort: admin.port, driftTopic, retrainTopic, trainer: trainer.name, registry: config.registryAddress, database: config.clickhouseDatabase });
    },
    close: async () => {
      admin?.setDraining();
      const t = timer;
      timer = undefined;
      if (t !== undefined) clearTimeout(t);
      await consumer?.close();
      await controller.idle();
      await producer?.close();
      await kafka.close();
      registryClient.close();
      await clickhouse.close();
      await admin?.close();
    },
  };
}
