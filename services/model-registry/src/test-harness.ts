// In-process registry for integration tests and the benchmark (not part of the public API).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger, type Logger } from "@loopline/kit";
import { createClient, type Client } from "@loopline/proto";
import { ModelRegistry, Stage, type ModelSignature, type ModelVersion } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { loadRegistryConfig } from "./config.js";
import { createRegistryService, type RegistryService } from "./service.js";

/** A registry service on a test's topic prefix, with a client. */
export interface RunningRegistry {
  service: RegistryService;
  client: Client<typeof ModelRegistry>;
  address: string;
  stop(): Promise<void>;
}

/** Starts the service in-process on port 0 with the given prefix and artifact folder (and Kafka, default the local stack's). */
export async function startRegistry(options: { topicPrefix: string; artifactDir: string; token?: string; logger?: Logger; brokers?: readonly string[] }): Promise<RunningRegistry> {
  const config = loadRegistryConfig({
    LOOPLINE_TOPIC_PREFIX: options.topicPrefix,
    LOOPLINE_REGISTRY_GRPC_PORT: "0",
    LOOPLINE_REGISTRY_ARTIFACT_DIR: options.artifactDir,
    LOOPLINE_REGISTRY_TOKEN: options.token ?? "",
    LOOPLINE_KAFKA_BROKERS: options.brokers?.join(",") ?? process.env["LOOPLINE_KAFKA_BROKERS"],
  });
  const service = createRegistryService(config, { logger: options.logger ?? silentLogger });
  await service.start();
  const address = `127.0.0.1:${service.grpcPort}`;
  const client = createClient(ModelRegistry, address, { timeoutMs: 30_000 });
  return {
    service,
    client,
    address,
    stop: async () => {
      client.close();
      await service.close(1000);
    },
  };
}

/** A temporary artifact folder removed after the test. */
export async function tempArtifactDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "loopline-registry-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Registers ONNX bytes over the client-streaming RPC in chunks of `chunkBytes` (default 1 MiB). */
export async function registerOverGrpc(
  client: Client<typeof ModelRegistry>,
  model: string,
  onnx: Uint8Array,
  signature: ModelSignature,
  extra: { profile?: Uint8Array; metrics?: Record<string, number>; token?: string; description?: string; chunkBytes?: number; source?: string } = {},
): Promise<{ version: ModelVersion; deduplicated: boolean }> {
  const chunkBytes = extra.chunkBytes ?? 1024 * 1024;
  const messages = [
    {
      part: {
        case: "header" as const,
        value: {
          model,
          signature,
          description: extra.description ?? "",
          metrics: extra.metrics ?? {},
          referenceProfile: extra.profile ?? new Uint8Array(),
          lineage: { source: extra.source ?? "test" },
          actor: "test",
        },
      },
    },
    ...Array.from({ length: Math.ceil(onnx.length / chunkBytes) }, (_, i) => ({ part: { case: "chunk" as const, value: onnx.subarray(i * chunkBytes, (i + 1) * chunkBytes) } })),
  ];
  const response = await client.registerVersion(messages, extra.token === undefined ? {} : { metadata: { authorization: `Bearer ${extra.token}` } });
  if (response.version === undefined) throw new Error("no version in the response");
  return { version: response.version, deduplicated: response.artifactDeduplicated };
}

/** TransitionStage with expected_stage read from the registry first, like the CLI does. */
export async function promote(client: Client<typeof ModelRegistry>, model: string, version: string, to: Stage, extra: { expectedProduction?: string; token?: string } = {}) {
  const current = (await client.getVersion({ model, version })).version?.stage ?? Stage.UNSPECIFIED;
  return client.transitionStage(
    { model, version, toStage: to, expectedStage: current, expectedProductionVersion: extra.expectedProduction ?? "", actor: "test", reason: `to ${Stage[to]}` },
    extra.token === undefined ? {} : { metadata: { authorization: `Bearer ${extra.token}` } },
  );
}
