// Baselines for bench/inference.bench.ts: what the same work costs without Loopline.
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import * as ort from "onnxruntime-node";

/**
 * A bare grpc-js server that answers every unary call on `method` with the request bytes: no
 * protobuf decoding, no work. The ceiling a gRPC service on this machine can reach.
 */
export async function startEchoServer(method: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = new Server({ "grpc.max_receive_message_length": 64 << 20, "grpc.max_send_message_length": 64 << 20 });
  const [, service = "", name = ""] = method.split("/");
  server.addService(
    {
      [name]: {
        path: method,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    { [name]: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, call.request) },
  );
  void service;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err))),
  );
  return { port, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

/** Rows per second of a sequential session.run loop on one model, at a batch size. */
export async function bareSessionRowsPerSecond(model: Uint8Array, inputName: string, columns: number, batch: number, seconds: number): Promise<number> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" });
  const data = new Float32Array(batch * columns).map((_, i) => (i % 7) / 7);
  const feeds = { [inputName]: new ort.Tensor("float32", data, [batch, columns]) };
  for (let i = 0; i < 100; i++) await session.run(feeds);
  let runs = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  while (performance.now() < until) {
    await session.run(feeds);
    runs++;
  }
  const rate = (runs * batch) / ((performance.now() - started) / 1000);
  await session.release();
  return rate;
}
