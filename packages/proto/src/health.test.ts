import assert from "node:assert/strict";
import { test } from "node:test";
import { status as Status } from "@grpc/grpc-js";
import { createClient } from "./client.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "./gen/grpc/health/v1/health_pb.js";
import { GrpcError } from "./grpc-error.js";
import { createGrpcServer } from "./grpc-server.js";
import type { GrpcServer } from "./grpc-server.js";
import { EchoService } from "./gen/loopline/testing/v1/echo_pb.js";
import { implementService } from "./service-impl.js";

async function start(t: { after(fn: () => Promise<void>): void }): Promise<{
  server: GrpcServer;
  health: ReturnType<typeof createClient<typeof Health>>;
}> {
  const server = await createGrpcServer({
    host: "127.0.0.1",
    services: [implementService(EchoService, { echo: () => ({}) })],
  });
  const health = createClient(Health, server.address);
  t.after(async () => {
    health.close();
    await server.close(1000);
  });
  return { server, health };
}

test("Check reports SERVING for the server and its services once listening", async (t) => {
  const { health } = await start(t);
  assert.equal((await health.check({ service: "" })).status, ServingStatus.SERVING);
  assert.equal((await health.check({ service: "loopline.testing.v1.EchoService" })).status, ServingStatus.SERVING);
});

test("Check follows setStatus, and answers NOT_FOUND for a service it does not know", async (t) => {
  const { server, health } = await start(t);
  server.health.setStatus("loopline.testing.v1.EchoService", "NOT_SERVING");
  assert.equal((await health.check({ service: "loopline.testing.v1.EchoService" })).status, ServingStatus.NOT_SERVING);
  await assert.rejects(health.check({ service: "no.such.Service" }), (error: unknown) => {
    return error instanceof GrpcError && error.code === Status.NOT_FOUND;
  });
});

test("List reports every known service", async (t) => {
  const { server, health } = await start(t);
  server.health.setStatus("feature-store", "NOT_SERVING");
  const { statuses } = await health.list({});
  assert.deepEqual(
    Object.fromEntries(Object.entries(statuses).map(([name, response]) => [name, response.status])),
    {
      "": ServingStatus.SERVING,
      "loopline.testing.v1.EchoService": ServingStatus.SERVING,
      "feature-store": ServingStatus.NOT_SERVING,
    },
  );
});

test("Watch sends the current status, then every change", async (t) => {
  const { server, health } = await start(t);
  const controller = new AbortController();
  const updates = health.watch({ service: "" }, { signal: controller.signal })[Symbol.asyncIterator]();
  assert.equal((await updates.next()).value?.status, ServingStatus.SERVING);
  server.health.setStatus("", "NOT_SERVING");
  assert.equal((await updates.next()).value?.status, ServingStatus.NOT_SERVING);
  server.health.setStatus("", "NOT_SERVING"); // no change, no message
  server.health.setStatus("", "SERVING");
  assert.equal((await updates.next()).value?.status, ServingStatus.SERVING);
  controller.abort();
  await assert.rejects(updates.next(), (error: unknown) => error instanceof GrpcError && error.code === Status.CANCELLED);
});

test("Watch of an unknown service reports SERVICE_UNKNOWN and keeps watching until it appears", async (t) => {
  const { server, health } = await start(t);
  const updates = health.watch({ service: "late.Service" })[Symbol.asyncIterator]();
  assert.equal((await updates.next()).value?.status, ServingStatus.SERVICE_UNKNOWN);
  server.health.setStatus("late.Service", "SERVING");
  assert.equal((await updates.next()).value?.status, ServingStatus.SERVING);
  await updates.return?.();
});

test("closing the server turns watchers NOT_SERVING and ends their streams without waiting the grace period", async (t) => {
  const { server, health } = await start(t);
  const updates = health.watch({ service: "" })[Symbol.asyncIterator]();
  assert.equal((await updates.next()).value?.status, ServingStatus.SERVING);
  const started = Date.now();
  const closed = server.close(30_000);
  assert.equal((await updates.next()).value?.status, ServingStatus.NOT_SERVING);
  assert.equal((await updates.next()).done, true);
  await closed;
  assert.ok(Date.now() - started < 5000, "close() did not wait for the open Watch");
});
