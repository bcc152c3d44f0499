import { create } from "@bufbuild/protobuf";
import {
  createAdminServer,
  createKafka,
  createLogger,
  createMetrics,
  topicName,
  type AdminServer,
  topicSpec,
  type KafkaKit,
  type Logger,
  type Metrics,
} from "@loopline/kit";
import { createGrpcServer, implementService, type GrpcServer } from "@loopline/proto";
import { GRPCInferenceService, ModelStreamInferResponseSchema } from "@loopline/proto/gen/inference/grpc_service_pb.js";
import { Inference } from "@loopline/proto/gen/loopline/v1/inference_pb.js";
import type { InferenceConfig } from "./config.js";
import { createFeatureFetcher, featureStoreCall, type GetOnlineFeatures } from "./feature-client.js";
import { createFolderSource } from "./folder-source.js";
import { createInferenceMetrics, type InferenceMetrics } from "./inference-metrics.js";
import type { LoadedVersion } from "./loaded-version.js";
import { createModelRepository, type ModelRepository } from "./model-repository.js";
import type { ModelSource } from "./model-source.js";
import { createOpenInference } from "./oip-service.js";
import { createKafkaPredictionSink, createPredictionLog, type PredictionLog, type PredictionSink } from "./prediction-log.js";
import { createPredictor } from "./predictor.js";
import { createRegistrySource } from "./registry-source.js";

/** The service's name in logs, metrics and ServerMetadata. */
export const SERVICE_NAME = "inference";
/** Reported by ServerMetadata. */
export const SERVICE_VERSION = "0.1.0";

/** Collaborators a test or benchmark may supply instead of the ones built from the config. */
export interface InferenceDeps {
  /** Default: JSON logs to stdout at the configured level. */
  logger?: Logger;
  /** Default: a fresh registry for this service. */
  metrics?: Metrics;
  /** Default: the registry or folder source the config names. */
  modelSource?: ModelSource;
  /** Default: GetOnlineFeatures over gRPC to LOOPLINE_FEATURE_STORE_ADDRESS. */
  getOnlineFeatures?: GetOnlineFeatures;
  /** Default: Kafka (loopline.predictions) through the kit's producer. */
  predictionSink?: PredictionSink;
  /** Default: built from the config (only used by the default prediction sink). */
  kafka?: KafkaKit;
}

/** A built inference service; nothing listens until start(). */
export interface InferenceService {
  /** Listens on the gRPC and admin ports and starts following models (in the background). */
  start(): Promise<void>;
  /** Resolves once the model source's initial state is loaded. */
  modelsReady(): Promise<void>;
  /** Bound gRPC port (after start). */
  readonly port: number;
  /** Bound admin port (after start). */
  readonly adminPort: number;
  readonly repository: ModelRepository;
  readonly predictionLog: PredictionLog;
  readonly metrics: Metrics;
  /** Stops intake, drains requests and shadow work, flushes the prediction log, releases models. */
  close(): Promise<void>;
}

/** Builds the inference service from its typed config; never reads process.env. */
export function createInferenceService(config: InferenceConfig, deps: InferenceDeps = {}): InferenceService {
  const logger = deps.logger ?? createLogger({ name: SERVICE_NAME, level: config.logLevel });
  const metrics = deps.metrics ?? createMetrics({ service: SERVICE_NAME });
  const m: InferenceMetrics = createInferenceMetrics(metrics);

  const source =
    deps.modelSource ??
    (config.modelSource === "folder"
      ? createFolderSource({ root: config.modelDir, pollIntervalMs: config.modelPollIntervalMs, logger })
      : createRegistrySource({ address: config.registryAddress, logger, maxMessageBytes: config.maxMessageBytes }));

  const repository = createModelRepository({
    source,
    logger,
    defaults: { maxBatchSize: config.maxBatchSize, maxQueueDelayUs: config.maxQueueDelayUs },
    intraOpThreads: config.intraOpThreads,
    nonFinite: config.nanPolicy,
    onRun: (lv: LoadedVersion, stats) => {
      const labels = { model: lv.model, version: lv.version };
      m.execCount.inc(labels);
      m.inferenceCount.inc(labels, stats.batchRows);
      m.batchSize.observe(labels, stats.batchRows);
      m.computeDuration.observe(labels, stats.computeSeconds);
      for (const q of stats.queueSeconds) m.queueDuration.observe(labels, q);
    },
    onLoad: (model, _version, outcome) => m.modelLoads.inc({ model, outcome }),
    onChange: (slots) => {
      m.loadedVersions.set({ model: slots.model, stage: "loaded" }, slots.versions.size);
      m.loadedVersions.set({ model: slots.model, stage: "production" }, slots.production === undefined ? 0 : 1);
      m.loadedVersions.set({ model: slots.model, stage: "canary" }, slots.canary === undefined ? 0 : 1);
      m.loadedVersions.set({ model: slots.model, stage: "shadow" }, slots.shadow === undefined ? 0 : 1);
    },
  });

  const store = deps.getOnlineFeatures === undefined ? featureStoreCall(config.featureStoreAddress, config.maxMessageBytes) : undefined;
  const features = createFeatureFetcher({
    call: deps.getOnlineFeatures ?? (store as { call: GetOnlineFeatures }).call,
    timeoutMs: config.featureTimeoutMs,
    batchDelayUs: config.featureBatchDelayUs,
    maxBatchEntities: config.featureBatchMaxEntities,
    metrics: m,
    ...(store === undefined ? {} : { onClose: store.close }),
  });

  let kafka: KafkaKit | undefined;
  const sink =
    deps.predictionSink ??
    createKafkaPredictionSink(
      (kafka = deps.kafka ?? createKafka({ brokers: config.kafkaBrokers, clientId: SERVICE_NAME, logger })),
      topicSpec(config.topicPrefix, topicName(config.topicPrefix, "predictions")),
    );
  const predictionLog = createPredictionLog({
    sink,
    logger,
    metrics: m,
    bufferSize: config.logBufferSize,
    batchSize: config.logBatchSize,
    flushIntervalMs: config.logFlushIntervalMs,
  });

  const predictor = createPredictor({
    repository,
    features,
    log: predictionLog,
    metrics: m,
    logger,
    degradedDefaults: config.degradedDefaults,
    maxBatchEntities: config.maxPredictBatch,
    shadowQueueSize: config.shadowQueueSize,
  });
  const oip = createOpenInference({ repository, metrics: m, nonFinite: config.nanPolicy === "keep" ? "keep" : "reject" });

  const inferenceBinding = implementService(Inference, {
    predict: (request, ctx) => predictor.predict(request, ctx.signal),
    predictBatch: (request, ctx) => predictor.predictBatch(request, ctx.signal),
  });
  const oipBinding = implementService(GRPCInferenceService, {
    serverLive: () => ({ live: true }),
    serverReady: () => ({ ready: repository.ready }),
    modelReady: (request) => ({ ready: request.name !== "" && oip.resolve(request.name, request.version) !== undefined }),
    serverMetadata: () => ({ name: `loopline-${SERVICE_NAME}`, version: SERVICE_VERSION, extensions: [] }),
    modelMetadata: (request) => oip.metadata(request.name, request.version),
    modelInfer: (request, ctx) => oip.infer(request, ctx.signal),
    // Streaming: each request answered in turn; failures travel as error_message, as Triton does.
    async *modelStreamInfer(requests, ctx) {
      for await (const request of requests) {
        try {
          yield create(ModelStreamInferResponseSchema, { inferResponse: await oip.infer(request, ctx.signal) });
        } catch (err) {
          yield create(ModelStreamInferResponseSchema, { errorMessage: err instanceof Error ? err.message : String(err) });
        }
      }
    },
  });

  let grpc: GrpcServer | undefined;
  let admin: AdminServer | undefined;
  let following: Promise<void> | undefined;

  return {
    async start() {
      grpc = await createGrpcServer({
        host: config.grpcHost,
        port: config.grpcPort,
        services: [inferenceBinding, oipBinding],
        maxReceiveMessageBytes: config.maxMessageBytes,
        maxSendMessageBytes: config.maxMessageBytes,
        initialHealth: "NOT_SERVING",
        onError: (err, ctx) => logger.error("handler failed", { err, method: ctx.method.name }),
      });
      admin = await createAdminServer({
        port: config.adminPort,
        host: config.adminHost,
        metrics,
        logger,
        readiness: [{ name: "models", check: () => Promise.resolve(repository.ready) }],
      });
      const server = grpc;
      following = repository.start().then(
        () => {
          for (const name of ["", Inference.typeName, GRPCInferenceService.typeName]) server.health.setStatus(name, "SERVING");
          logger.info("models ready", { models: repository.models().map((s) => ({ model: s.model, production: s.production?.version, canary: s.canary?.version, shadow: s.shadow?.version })) });
        },
        (err: unknown) => logger.error("model source failed", { err }),
      );
      logger.info("inference listening", { port: grpc.port, adminPort: admin.port, source: source.description });
    },
    modelsReady: () => following ?? Promise.reject(new Error("start() first")),
    get port() {
      return grpc?.port ?? 0;
    },
    get adminPort() {
      return admin?.port ?? 0;
    },
    repository,
    predictionLog,
    metrics,
    async close() {
      admin?.setDraining();
      await grpc?.close(config.shutdownGraceMs);
      await predictor.close();
      await predictionLog.close(config.shutdownGraceMs);
      await repository.close();
      features.close();
      await kafka?.close();
      await admin?.close();
    },
  };
}
