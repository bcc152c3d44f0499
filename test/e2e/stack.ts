import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFeatureIngestService, loadFeatureIngestConfig } from "@loopline/feature-ingest";
import { createFeatureStoreService, loadFeatureStoreConfig } from "@loopline/feature-store";
import { createInferenceService, loadInferenceConfig } from "@loopline/inference";
import { createLogger, createMetrics, silentLogger, type Logger } from "@loopline/kit";
import { createRegistryService, loadRegistryConfig } from "@loopline/model-registry";
import { createClient, type Client } from "@loopline/proto";
import { Inference } from "@loopline/proto/gen/loopline/v1/inference_pb.js";
import { ModelRegistry } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import type { IsolatedStack } from "@loopline/testkit";

/** Every serving-path service of Loopline running in-process on one isolated stack slice. */
export interface RunningLoop {
  registry: Client<typeof ModelRegistry>;
  inference: Client<typeof Inference>;
  inferenceAddress: string;
  featureStoreAddress: string;
}

function testLogger(name: string): Logger {
  return process.env["LOOPLINE_TEST_LOG"] === "1" ? createLogger({ name, level: "debug", write: (l) => void process.stderr.write(l) }) : silentLogger;
}

/** Starts registry, feature-store, feature-ingest and inference on the stack slice; stops them after the test. */
export async function startLoop(t: { after(fn: () => Promise<void>): void }, s: IsolatedStack): Promise<RunningLoop> {
  const common = {
    LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(","),
    LOOPLINE_REDIS_URL: s.endpoints.redisUrl,
    LOOPLINE_TOPIC_PREFIX: s.topicPrefix,
    LOOPLINE_SHUTDOWN_GRACE: "2s",
  };
  const artifacts = await mkdtemp(join(tmpdir(), "loopline-e2e-"));
  t.after(() => rm(artifacts, { recursive: true, force: true }));
  const stops: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });
  const metrics = (service: string) => createMetrics({ service, defaultMetrics: false });

  const registry = createRegistryService(
    loadRegistryConfig({ ...common, LOOPLINE_REGISTRY_GRPC_PORT: "0", LOOPLINE_REGISTRY_ADMIN_PORT: "0", LOOPLINE_REGISTRY_ARTIFACT_DIR: artifacts }),
    { logger: testLogger("model-registry") },
  );
  await registry.start();
  stops.push(() => registry.close(1000));

  const store = createFeatureStoreService(
    loadFeatureStoreConfig({
      ...common,
      LOOPLINE_FEATURE_STORE_GRPC_HOST: "127.0.0.1",
      LOOPLINE_FEATURE_STORE_GRPC_PORT: "0",
      LOOPLINE_FEATURE_STORE_ADMIN_PORT: "0",
      LOOPLINE_FEATURE_STORE_KEY_PREFIX: s.redisPrefix,
      LOOPLINE_FEATURE_STORE_GROUP: `${s.topicPrefix}feature-store`,
    }),
    { logger: testLogger("feature-store"), metrics: metrics("feature-store") },
  );
  await store.start();
  stops.push(() => store.close());

  const ingest = createFeatureIngestService(
    loadFeatureIngestConfig({
      ...common,
      LOOPLINE_FEATURE_INGEST_ADMIN_PORT: "0",
      LOOPLINE_FEATURE_INGEST_STATE_PREFIX: s.redisPrefix,
      LOOPLINE_FEATURE_INGEST_GROUP: `${s.topicPrefix}feature-ingest`,
    }),
    { logger: testLogger("feature-ingest"), metrics: metrics("feature-ingest") },
  );
  await ingest.start();
  stops.push(() => ingest.close());

  const featureStoreAddress = `127.0.0.1:${store.grpcPort}`;
  const inference = createInferenceService(
    loadInferenceConfig({
      ...common,
      LOOPLINE_INFERENCE_HOST: "127.0.0.1",
      LOOPLINE_INFERENCE_PORT: "0",
      LOOPLINE_INFERENCE_ADMIN_PORT: "0",
      LOOPLINE_REGISTRY_ADDRESS: `127.0.0.1:${registry.grpcPort}`,
      LOOPLINE_FEATURE_STORE_ADDRESS: featureStoreAddress,
      LOOPLINE_INFERENCE_LOG_FLUSH_INTERVAL: "50ms",
    }),
    { logger: testLogger("inference"), metrics: metrics("inference") },
  );
  await inference.start();
  stops.push(() => inference.close());

  const inferenceAddress = `127.0.0.1:${inference.port}`;
  const registryClient = createClient(ModelRegistry, `127.0.0.1:${registry.grpcPort}`, { timeoutMs: 30_000 });
  const inferenceClient = createClient(Inference, inferenceAddress, { timeoutMs: 10_000 });
  stops.push(async () => {
    registryClient.close();
    inferenceClient.close();
  });
  return { registry: registryClient, inference: inferenceClient, inferenceAddress, featureStoreAddress };
}
