import type { TestContext } from "node:test";
import { create } from "@bufbuild/protobuf";
import { createFeatureStoreService, loadFeatureStoreConfig } from "@loopline/feature-store";
import { createMetrics, silentLogger } from "@loopline/kit";
import { createClient, toFeatureValue, type PlainValue } from "@loopline/proto";
import { FeatureStore, FeatureUpdateSchema } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import type { IsolatedStack } from "@loopline/testkit";

/** The variables every in-process service of a test shares: the isolated stack's servers and topics. */
export function stackVariables(s: IsolatedStack) {
  return { LOOPLINE_KAFKA_BROKERS: s.endpoints.kafkaBrokers.join(","), LOOPLINE_REDIS_URL: s.endpoints.redisUrl, LOOPLINE_TOPIC_PREFIX: s.topicPrefix, LOOPLINE_SHUTDOWN_GRACE: "2s" };
}

/** Starts feature-store in-process on the test's stack (closed after the test); its address and a client. */
export async function startFeatureStore(t: TestContext, s: IsolatedStack): Promise<{ address: string; client: ReturnType<typeof createClient<typeof FeatureStore>> }> {
  const store = createFeatureStoreService(
    loadFeatureStoreConfig({
      ...stackVariables(s),
      LOOPLINE_FEATURE_STORE_KEY_PREFIX: `${s.redisPrefix}store:`,
      LOOPLINE_FEATURE_STORE_GROUP: `${s.topicPrefix}store`,
      LOOPLINE_FEATURE_STORE_GRPC_HOST: "127.0.0.1",
      LOOPLINE_FEATURE_STORE_GRPC_PORT: "0",
      LOOPLINE_FEATURE_STORE_ADMIN_PORT: "0",
    }),
    { logger: silentLogger, metrics: createMetrics({ service: "feature-store", defaultMetrics: false }) },
  );
  await store.start();
  t.after(() => store.close());
  const address = `127.0.0.1:${store.grpcPort}`;
  const client = createClient(FeatureStore, address, { timeoutMs: 5000 });
  t.after(async () => client.close());
  return { address, client };
}

/** A card_txn version of one card, as a producer that computes its own features writes it. */
export interface CardVersion {
  entityId: string;
  eventTimeMs: number;
  revision: number;
  producedAtMs: number;
  values: Record<string, PlainValue>;
}

/** Writes card_txn versions through WriteFeatures (the store's newer-wins path). */
export function writeCardVersions(client: ReturnType<typeof createClient<typeof FeatureStore>>, versions: readonly CardVersion[]) {
  return client.writeFeatures({
    updates: versions.map((v) =>
      create(FeatureUpdateSchema, {
        entity: "card",
        entityId: v.entityId,
        view: "card_txn",
        eventTimeMs: BigInt(v.eventTimeMs),
        revision: BigInt(v.revision),
        producedAtMs: BigInt(v.producedAtMs),
        values: Object.fromEntries(Object.entries(v.values).map(([k, value]) => [k, toFeatureValue(value)])),
      }),
    ),
  });
}
