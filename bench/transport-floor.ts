// The latency floor of each transport on this machine, for reading GetOnlineFeatures' p99 against:
// a server in its own process that answers every request with its bytes, driven open loop at the
// rate the features bench uses, by the leanest client of each transport:
//   tcp    net.Socket echo, 125-byte messages
//   http2  node:http2 server answering gRPC-framed POSTs with the same frame and grpc-status 0
//   grpc   @grpc/grpc-js server and client (what feature-store and its callers use)
// Run: node --conditions=@loopline/source --import tsx bench/transport-floor.ts [rate=500] [seconds=10]
// Not part of `make bench`: it measures the machine and Node, not Loopline.
import { spawn } from "node:child_process";
import http2 from "node:http2";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { Client as GrpcClient, credentials } from "@grpc/grpc-js";
import { startEchoServer } from "../services/inference/src/testing/baselines.js";
import { openLoopLatencies, quantileOf } from "./open-loop.js";

const METHOD = "/loopline.v1.FeatureStore/GetOnlineFeatures";
const PAYLOAD = Buffer.alloc(120, 7); // about a 1 x 10 GetOnlineFeatures request
const frame = (payload: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, payload.length]), payload]); // gRPC: flag, 4-byte length

async function serve(kind: string): Promise<number> {
  if (kind === "grpc") return (await startEchoServer(METHOD)).port;
  if (kind === "tcp") {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      socket.on("data", (d) => socket.write(d));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as net.AddressInfo).port;
  }
  const server = http2.createServer();
  server.on("stream", (stream) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

async function client(kind: string, port: number): Promise<{ call: () => Promise<unknown>; close: () => void }> {
  if (kind === "grpc") {
    const c = new GrpcClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const id = (b: Buffer) => b;
    return { call: () => new Promise((resolve, reject) => c.makeUnaryRequest(METHOD, id, id, PAYLOAD, (err, res) => (err ? reject(err) : resolve(res)))), close: () => c.close() };
  }
  if (kind === "tcp") {
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once("connect", resolve));
    const message = frame(PAYLOAD);
    const waiting: (() => void)[] = [];
    let buffered = 0;
    socket.on("data", (d: Buffer) => {
      buffered += d.length;
      while (buffered >= message.length && waiting.length > 0) {
        buffered -= message.length;
        waiting.shift()?.();
      }
    });
    return { call: () => new Promise<void>((resolve) => void (waiting.push(resolve), socket.write(message))), close: () => socket.destroy() };
  }
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const body = frame(PAYLOAD);
  const headers = { ":method": "POST", ":path": METHOD, "content-type": "application/grpc", te: "trailers" };
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const req = session.request(headers);
      req.on("data", () => undefined);
      req.on("end", resolve);
      req.on("error", reject);
      req.end(body);
    });
  return { call, close: () => session.close() };
}

if (process.argv[2] === "serve") {
  console.log(await serve(process.argv[3] ?? ""));
} else {
  const rate = Number(process.argv[2] ?? 500);
  const seconds = Number(process.argv[3] ?? 10);
  const self = fileURLToPath(import.meta.url);
  for (const kind of ["tcp", "http2", "grpc"]) {
    const server = spawn(process.execPath, ["--conditions=@loopline/source", "--import", "tsx", self, "serve", kind], { stdio: ["ignore", "pipe", "inherit"] });
    const port = Number(await new Promise<string>((resolve) => server.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()))));
    const c = await client(kind, port);
    for (let i = 0; i < 2000; i++) await c.call(); // JIT warm-up on both sides
    const lat = await openLoopLatencies(rate, seconds, () => c.call()); // as features.bench.ts drives the store
    const pick = (q: number) => quantileOf(lat, q).toFixed(3);
    console.log(`${kind.padEnd(6)} echo at ${rate}/s for ${seconds} s: p50 ${pick(0.5)} ms, p99 ${pick(0.99)} ms, p99.9 ${pick(0.999)} ms, max ${pick(1)} ms`);
    c.close();
    server.kill("SIGTERM");
  }
  process.exit(0);
}
