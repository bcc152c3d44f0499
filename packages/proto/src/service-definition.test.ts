import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { GRPCInferenceService, ModelInferRequestSchema } from "./gen/inference/grpc_service_pb.js";
import { EchoService } from "./gen/loopline/testing/v1/echo_pb.js";
import { createServiceDefinition } from "./service-definition.js";

test("each method gets its gRPC path and streaming flags", () => {
  const definition = createServiceDefinition(EchoService);
  const summary = Object.entries(definition).map(([name, m]) => [name, m.path, m.requestStream, m.responseStream]);
  assert.deepEqual(summary, [
    ["Echo", "/loopline.testing.v1.EchoService/Echo", false, false],
    ["Count", "/loopline.testing.v1.EchoService/Count", false, true],
    ["Sum", "/loopline.testing.v1.EchoService/Sum", true, false],
    ["Chat", "/loopline.testing.v1.EchoService/Chat", true, true],
  ]);
  assert.equal(createServiceDefinition(GRPCInferenceService).ModelInfer?.path, "/inference.GRPCInferenceService/ModelInfer");
});

test("messages are protobuf binary: the bytes of a known request match the wire format", () => {
  const modelInfer = createServiceDefinition(GRPCInferenceService).ModelInfer;
  assert.ok(modelInfer !== undefined);
  // model_name = "m" is field 1, wire type 2: tag 0x0a, length 1, 'm'.
  // raw_input_contents = [0x01] is field 7, wire type 2: tag 0x3a, length 1, 0x01.
  const bytes = modelInfer.requestSerialize(create(ModelInferRequestSchema, { modelName: "m", rawInputContents: [new Uint8Array([1])] }));
  assert.deepEqual([...bytes], [0x0a, 0x01, 0x6d, 0x3a, 0x01, 0x01]);
  const decoded = modelInfer.requestDeserialize(Buffer.from(bytes));
  assert.equal(decoded.modelName, "m");
  assert.deepEqual([...(decoded.rawInputContents[0] ?? [])], [1]);
});
