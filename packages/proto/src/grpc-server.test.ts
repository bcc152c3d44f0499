import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { status as Status } from "@grpc/grpc-js";
import { createClient } from "./client.js";
import { EchoService } from "./gen/loopline/testing/v1/echo_pb.js";
import { GrpcError } from "./grpc-error.js";
import { createGrpcServer } from "./grpc-server.js";
import { implementService } from "./service-impl.js";

const echo = implementService(EchoService, {
  async echo(request, context) {
    await sleep(request.delayMs, undefined, { signal: context.signal });
    return { note: request.note };
  },
});

// An echo whose handler says when a call reaches it: closing the server before then would test a
// call that never started (a fixed sleep raced the connection on a loaded machine).
function echoReporting(): { service: typeof echo; reached: Promise<void> } {
  let reachedHandler: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => (reachedHandler = resolve));
  const service = implementService(EchoService, {
    async echo(request, context) {
      reachedHandler();
      await sleep(request.delayMs, undefined, { signal: context.signal });
      return { note: request.note };
    },
  });
  return { service, reached };
}

test("close() lets a call in flight finish within the grace period", async () => {
  const { service, reached } = echoReporting();
  const server = await createGrpcServer({ host: "127.0.0.1", services: [service] });
  const client = createClient(EchoService, server.address);
  try {
    const inFlight = client.echo({ note: { text: "late" }, delayMs: 300 });
    await reached;
    const started = Date.now();
    await server.close(5000);
    assert.equal((await inFlight).note?.text, "late");
    assert.ok(Date.now() - started < 4000, "close() returned once the call was done, not at the end of the grace period");
  } finally {
    client.close();
  }
});

test("close() cuts calls still running when the grace period ends", async () => {
  const { service, reached } = echoReporting();
  const server = await createGrpcServer({ host: "127.0.0.1", services: [service] });
  const client = createClient(EchoService, server.address);
  try {
    const inFlight = client.echo({ delayMs: 10_000 });
    await reached;
    const started = Date.now();
    await server.close(200);
    assert.ok(Date.now() - started < 2000);
    await assert.rejects(inFlight, (error: unknown) => error instanceof GrpcError && error.code !== Status.OK);
  } finally {
    client.close();
  }
});

test("a request larger than maxReceiveMessageBytes is refused with RESOURCE_EXHAUSTED", async (t) => {
  const server = await createGrpcServer({ host: "127.0.0.1", services: [echo], maxReceiveMessageBytes: 1024 });
  const client = createClient(EchoService, server.address);
  t.after(async () => {
    client.close();
    await server.close(1000);
  });
  assert.equal((await client.echo({ note: { text: "x".repeat(500) } })).note?.text.length, 500);
  await assert.rejects(client.echo({ note: { text: "x".repeat(5000) } }), (error: unknown) => {
    return error instanceof GrpcError && error.code === Status.RESOURCE_EXHAUSTED;
  });
});

test("with a certificate and key the server speaks TLS, and plaintext clients are refused", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "loopline-tls-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert,
    ], { stdio: "ignore" });
  } catch {
    t.skip("openssl is not installed");
    return;
  }
  const server = await createGrpcServer({ host: "127.0.0.1", services: [echo], tls: { cert, key } });
  const secure = createClient(EchoService, `localhost:${String(server.port)}`, { tls: { ca: cert } });
  const plain = createClient(EchoService, server.address);
  t.after(async () => {
    secure.close();
    plain.close();
    await server.close(1000);
  });
  assert.equal((await secure.echo({ note: { text: "over tls" } })).note?.text, "over tls");
  await assert.rejects(plain.echo({}, { timeoutMs: 2000 }), (error: unknown) => {
    return error instanceof GrpcError && (error.code === Status.UNAVAILABLE || error.code === Status.DEADLINE_EXCEEDED);
  });
});

test("binding a port already in use fails instead of serving nothing", async (t) => {
  const first = await createGrpcServer({ host: "127.0.0.1" });
  t.after(() => first.close(1000));
  await assert.rejects(createGrpcServer({ host: "127.0.0.1", port: first.port }), (error: unknown) => {
    return error instanceof GrpcError && error.code === Status.UNAVAILABLE && error.message.includes(`127.0.0.1:${String(first.port)}`);
  });
});
