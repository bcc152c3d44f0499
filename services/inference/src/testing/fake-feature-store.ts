// A stand-in FeatureStore gRPC server for benchmarks (the real one is services/feature-store):
// answers GetOnlineFeatures for any entity with deterministic values derived from the entity id.
// Run as a process of its own so it does not share the inference service's event loop:
//   node --conditions=@loopline/source --import tsx services/inference/src/testing/fake-feature-store.ts
// prints {"port":N} and serves until SIGTERM.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { FeatureStore, GetOnlineFeaturesRequestSchema, GetOnlineFeaturesResponseSchema } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { FeatureStatus, FeatureValueSchema, type FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { fnv1a32 } from "../routing.js";

const COUNTRIES = ["fr", "de", "us", "gb"];

/** The value the fake serves for (entity, ref): numbers for most refs, a country for *country, a flag for *is_new. */
export function fakeValue(entityId: string, ref: string): FeatureValue {
  const h = fnv1a32(`${ref}/${entityId}`);
  if (ref.endsWith("country")) return create(FeatureValueSchema, { kind: { case: "text", value: COUNTRIES[h % COUNTRIES.length] as string } });
  if (ref.endsWith("is_new")) return create(FeatureValueSchema, { kind: { case: "flag", value: h % 2 === 0 } });
  return create(FeatureValueSchema, { kind: { case: "number", value: (h % 10_000) / 100 } });
}

/**
 * Starts the fake on a free port of 127.0.0.1. It speaks gRPC through bare grpc-js and keeps the
 * encoded answer of each distinct request, so its own cost stays small next to the service it feeds.
 */
export async function startFakeFeatureStore(): Promise<{ port: number; close: () => Promise<void> }> {
  const answers = new Map<string, Buffer>();
  const answer = (bytes: Buffer): Buffer => {
    const key = bytes.toString("latin1");
    let out = answers.get(key);
    if (out === undefined) {
      const request = fromBinary(GetOnlineFeaturesRequestSchema, bytes);
      const response = create(GetOnlineFeaturesResponseSchema, {
        entityIds: request.entityIds,
        columns: request.features.map((ref) => ({
          ref,
          values: request.entityIds.map((id) => fakeValue(id, ref)),
          statuses: request.entityIds.map(() => FeatureStatus.PRESENT),
          eventTimeMs: request.entityIds.map(() => 0n),
        })),
      });
      out = Buffer.from(toBinary(GetOnlineFeaturesResponseSchema, response));
      if (answers.size > 10_000) answers.clear();
      answers.set(key, out);
    }
    return out;
  };
  const server = new Server({ "grpc.max_receive_message_length": 64 << 20, "grpc.max_send_message_length": 64 << 20 });
  const identity = (b: Buffer) => b;
  const path = `/${FeatureStore.typeName}/GetOnlineFeatures`;
  server.addService(
    { GetOnlineFeatures: { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    { GetOnlineFeatures: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, answer(call.request)) },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err))),
  );
  return { port, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

if (/fake-feature-store\.(ts|js)$/.test(process.argv[1] ?? "")) {
  const fake = await startFakeFeatureStore();
  process.stdout.write(`${JSON.stringify({ port: fake.port })}\n`);
  process.on("SIGTERM", () => void fake.close().then(() => process.exit(0)));
}
