import assert from "node:assert/strict";
import { test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { status as Status } from "@grpc/grpc-js";
import { createClient } from "./client.js";
import { ServerReflection as ReflectionV1, ServerReflectionRequestSchema } from "./gen/grpc/reflection/v1/reflection_pb.js";
import type { ServerReflectionResponse } from "./gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
import { EchoService } from "./gen/loopline/testing/v1/echo_pb.js";
import { createGrpcServer } from "./grpc-server.js";
import { implementService } from "./service-impl.js";

type Question = MessageInitShape<typeof ServerReflectionRequestSchema>;

/** Asks each question on one reflection stream (v1 or v1alpha) and collects the answers. */
async function ask(
  t: { after(fn: () => Promise<void>): void },
  version: typeof ReflectionV1 | typeof ReflectionV1alpha,
  questions: Question[],
): Promise<ServerReflectionResponse["messageResponse"][]> {
  const server = await createGrpcServer({
    host: "127.0.0.1",
    services: [implementService(EchoService, { echo: () => ({}) })],
  });
  const client = createClient(version as typeof ReflectionV1, server.address);
  t.after(async () => {
    client.close();
    await server.close(1000);
  });
  const call = client.serverReflectionInfo();
  const answers: ServerReflectionResponse["messageResponse"][] = [];
  const responses = call.responses[Symbol.asyncIterator]();
  for (const question of questions) {
    await call.send(question);
    const next = await responses.next();
    assert.equal(next.done, false);
    answers.push(next.value.messageResponse);
  }
  call.end();
  return answers;
}

function fileNames(answer: ServerReflectionResponse["messageResponse"] | undefined): string[] {
  assert.equal(answer?.case, "fileDescriptorResponse");
  return answer.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
}

for (const [label, version] of [
  ["v1", ReflectionV1],
  ["v1alpha", ReflectionV1alpha],
] as const) {
  test(`reflection ${label}: lists the registered services, health and reflection`, async (t) => {
    const [answer] = await ask(t, version, [{ messageRequest: { case: "listServices", value: "" } }]);
    assert.equal(answer?.case, "listServicesResponse");
    assert.deepEqual(
      answer.value.service.map((s) => s.name),
      [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "loopline.testing.v1.EchoService",
      ],
    );
  });

  test(`reflection ${label}: the file containing a service comes with its transitive dependencies`, async (t) => {
    const [answer] = await ask(t, version, [
      { messageRequest: { case: "fileContainingSymbol", value: "loopline.testing.v1.EchoService" } },
    ]);
    assert.deepEqual(fileNames(answer), [
      "loopline/testing/v1/echo.proto",
      "loopline/testing/v1/note.proto",
      "google/protobuf/timestamp.proto",
    ]);
    assert.equal(answer?.case, "fileDescriptorResponse");
    const echo = fromBinary(FileDescriptorProtoSchema, answer.value.fileDescriptorProto[0] ?? new Uint8Array());
    assert.equal(echo.package, "loopline.testing.v1");
    assert.deepEqual(echo.dependency, ["loopline/testing/v1/note.proto"]);
    assert.deepEqual(
      echo.service[0]?.method.map((m) => [m.name, m.clientStreaming, m.serverStreaming]),
      [
        ["Echo", false, false],
        ["Count", false, true],
        ["Sum", true, false],
        ["Chat", true, true],
      ],
    );
  });
}

test("reflection resolves methods, nested types and files by name; unknown symbols are NOT_FOUND", async (t) => {
  const answers = await ask(t, ReflectionV1, [
    { messageRequest: { case: "fileContainingSymbol", value: "loopline.testing.v1.EchoService.Chat" } },
    { messageRequest: { case: "fileContainingSymbol", value: "loopline.testing.v1.Note.Tone" } },
    { messageRequest: { case: "fileContainingSymbol", value: "google.protobuf.Timestamp" } },
    { messageRequest: { case: "fileByFilename", value: "grpc/health/v1/health.proto" } },
    { messageRequest: { case: "fileContainingSymbol", value: "loopline.testing.v1.Nope" } },
  ]);
  assert.deepEqual(fileNames(answers[0])[0], "loopline/testing/v1/echo.proto");
  assert.deepEqual(fileNames(answers[1]), ["loopline/testing/v1/note.proto", "google/protobuf/timestamp.proto"]);
  assert.deepEqual(fileNames(answers[2]), ["google/protobuf/timestamp.proto"]);
  assert.deepEqual(fileNames(answers[3]), ["grpc/health/v1/health.proto"]);
  const missing = answers[4];
  assert.equal(missing?.case, "errorResponse");
  assert.equal(missing.value.errorCode, Status.NOT_FOUND);
});
