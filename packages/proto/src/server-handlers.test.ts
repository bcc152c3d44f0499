import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { anyPack, anyUnpack, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Metadata, status as Status } from "@grpc/grpc-js";
import { EchoService } from "./gen/loopline/testing/v1/echo_pb.js";
import { Note_Tone, NoteSchema } from "./gen/loopline/testing/v1/note_pb.js";
import { createClient } from "./client.js";
import type { Client } from "./client.js";
import { GrpcError } from "./grpc-error.js";
import { createGrpcServer } from "./grpc-server.js";
import type { GrpcServerOptions } from "./grpc-server.js";
import type { HandlerContext } from "./handler-context.js";
import { INTERNAL_ERROR_MESSAGE } from "./server-handlers.js";
import { implementService } from "./service-impl.js";
import type { ServiceImpl } from "./service-impl.js";

/** Starts a server on 127.0.0.1:0 with the given Echo handlers and returns a client for it. */
async function startEcho(
  t: { after(fn: () => Promise<void> | void): void },
  implementation: Partial<ServiceImpl<typeof EchoService>>,
  options: Partial<GrpcServerOptions> = {},
): Promise<Client<typeof EchoService>> {
  const server = await createGrpcServer({
    host: "127.0.0.1",
    port: 0,
    services: [implementService(EchoService, implementation)],
    ...options,
  });
  const client = createClient(EchoService, server.address);
  t.after(async () => {
    client.close();
    await server.close(1000);
  });
  return client;
}

/** Resolves when the signal aborts, with its reason. */
function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(signal.reason);
    } else {
      signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
    }
  });
}

test("unary: the client gets the handler's answer with every field intact", async (t) => {
  const client = await startEcho(t, { echo: (request) => ({ note: request.note }) });
  const writtenAt = timestampFromMs(1_700_000_000_123);
  const response = await client.echo({ note: { text: "héllo", writtenAt, tone: Note_Tone.URGENT } });
  assert.equal(response.note?.text, "héllo");
  assert.equal(response.note?.tone, Note_Tone.URGENT);
  assert.equal(response.note?.writtenAt?.seconds, 1_700_000_000n);
  assert.equal(response.note?.writtenAt?.nanos, 123_000_000);
});

test("server streaming: the client iterates every response in order", async (t) => {
  const client = await startEcho(t, {
    async *count(request) {
      for (let value = 1; value <= request.to; value++) {
        yield { value };
      }
    },
  });
  const values: number[] = [];
  for await (const response of client.count({ to: 5 })) {
    values.push(response.value);
  }
  assert.deepEqual(values, [1, 2, 3, 4, 5]);
});

test("client streaming: the handler reads every request until the client ends", async (t) => {
  const client = await startEcho(t, {
    async sum(requests) {
      let total = 0n;
      let count = 0;
      for await (const request of requests) {
        total += request.value;
        count++;
      }
      return { total, count };
    },
  });
  async function* values(): AsyncGenerator<{ value: bigint }> {
    for (const value of [5n, -2n, 9_007_199_254_740_993n]) {
      await sleep(5);
      yield { value };
    }
  }
  const response = await client.sum(values());
  assert.equal(response.total, 9_007_199_254_740_996n);
  assert.equal(response.count, 3);
});

test("bidi streaming: each answer arrives before the next request is sent", async (t) => {
  const client = await startEcho(t, {
    async *chat(requests) {
      let sequence = 0;
      for await (const request of requests) {
        yield { note: { text: request.note?.text.toUpperCase() ?? "" }, sequence: ++sequence };
      }
    },
  });
  const call = client.chat();
  const responses = call.responses[Symbol.asyncIterator]();
  const seen: string[] = [];
  for (const text of ["a", "b", "c"]) {
    await call.send({ note: { text } });
    const next = await responses.next();
    assert.equal(next.done, false);
    seen.push(`${String(next.value?.sequence)}:${next.value?.note?.text ?? ""}`);
  }
  call.end();
  assert.equal((await responses.next()).done, true);
  assert.deepEqual(seen, ["1:A", "2:B", "3:C"]);
});

test("a thrown GrpcError reaches the client with its code, message, trailers and details", async (t) => {
  const client = await startEcho(t, {
    echo() {
      const trailer = new Metadata();
      trailer.set("x-field", "note.text");
      throw new GrpcError(Status.INVALID_ARGUMENT, "note.text must not be empty", {
        metadata: trailer,
        details: [anyPack(NoteSchema, create(NoteSchema, { text: "detail" }))],
      });
    },
  });
  const error = await client.echo({}).then(
    () => assert.fail("the call should fail"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof GrpcError);
  assert.equal(error.name, "GrpcError");
  assert.equal(error.code, Status.INVALID_ARGUMENT);
  assert.equal(error.codeName, "INVALID_ARGUMENT");
  assert.equal(error.message, "note.text must not be empty");
  assert.deepEqual(error.metadata.get("x-field"), ["note.text"]);
  assert.equal(error.details.length, 1);
  const detail = error.details[0] === undefined ? undefined : anyUnpack(error.details[0], NoteSchema);
  assert.equal(detail?.text, "detail");
});

test("an unexpected throw becomes INTERNAL without leaking its message, and reaches onError", async (t) => {
  const reported: unknown[] = [];
  const client = await startEcho(
    t,
    {
      echo() {
        throw new Error("password=hunter2 at db.internal:5432");
      },
    },
    { onError: (error) => reported.push(error) },
  );
  const error = await client.echo({}).then(
    () => assert.fail("the call should fail"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof GrpcError);
  assert.equal(error.code, Status.INTERNAL);
  assert.equal(error.message, INTERNAL_ERROR_MESSAGE);
  assert.doesNotMatch(JSON.stringify(error.metadata.getMap()), /hunter2/);
  assert.equal(reported.length, 1);
  assert.match((reported[0] as Error).message, /hunter2/);
});

test("a failure in the middle of a server stream ends the client's iteration with that status", async (t) => {
  const client = await startEcho(t, {
    async *count() {
      yield { value: 1 };
      yield { value: 2 };
      throw new GrpcError(Status.RESOURCE_EXHAUSTED, "quota used up");
    },
  });
  const values: number[] = [];
  await assert.rejects(
    async () => {
      for await (const response of client.count({ to: 10 })) {
        values.push(response.value);
      }
    },
    (error: unknown) => error instanceof GrpcError && error.code === Status.RESOURCE_EXHAUSTED && error.message === "quota used up",
  );
  assert.deepEqual(values, [1, 2]);
});

test("a deadline shorter than the handler gives DEADLINE_EXCEEDED and aborts the handler's signal", async (t) => {
  let handlerAbort: Promise<unknown> | undefined;
  let sawDeadline: Date | undefined;
  const client = await startEcho(t, {
    async echo(request, context) {
      sawDeadline = context.deadline;
      handlerAbort = aborted(context.signal);
      await sleep(request.delayMs, undefined, { signal: context.signal }).catch(() => undefined);
      return {};
    },
  });
  const started = Date.now();
  await assert.rejects(client.echo({ delayMs: 5000 }, { timeoutMs: 150 }), (error: unknown) => {
    return error instanceof GrpcError && error.code === Status.DEADLINE_EXCEEDED;
  });
  assert.ok(Date.now() - started < 2000, "the client gave up at its deadline");
  assert.ok(sawDeadline !== undefined && Math.abs(sawDeadline.getTime() - (started + 150)) < 1000);
  const reason = await handlerAbort;
  assert.ok(reason instanceof GrpcError);
  assert.equal(reason.code, Status.DEADLINE_EXCEEDED);
});

test("aborting the client's signal cancels the call on both sides", async (t) => {
  let handlerAbort: Promise<unknown> | undefined;
  let markEntered = (): void => {};
  const entered = new Promise<void>((resolve) => (markEntered = resolve));
  const client = await startEcho(t, {
    async echo(_request, context) {
      handlerAbort = aborted(context.signal);
      markEntered();
      await aborted(context.signal);
      return {};
    },
  });
  const controller = new AbortController();
  const call = client.echo({}, { signal: controller.signal });
  await entered;
  controller.abort(new Error("user went away"));
  await assert.rejects(call, (error: unknown) => error instanceof GrpcError && error.code === Status.CANCELLED);
  const reason = await handlerAbort;
  assert.ok(reason instanceof GrpcError);
  assert.equal(reason.code, Status.CANCELLED);
});

test("a client that stops iterating a server stream early cancels the handler", async (t) => {
  let handlerAbort: Promise<unknown> | undefined;
  const client = await startEcho(t, {
    async *count(_request, context: HandlerContext) {
      handlerAbort = aborted(context.signal);
      for (let value = 1; !context.signal.aborted; value++) {
        yield { value };
        await sleep(5);
      }
    },
  });
  for await (const response of client.count({})) {
    if (response.value === 3) {
      break;
    }
  }
  const reason = await handlerAbort;
  assert.ok(reason instanceof GrpcError);
  assert.equal(reason.code, Status.CANCELLED);
});

test("metadata travels both ways: request headers in, response headers and trailers out", async (t) => {
  const client = await startEcho(t, {
    echo(_request, context) {
      const requestId = context.metadata.get("x-request-id")[0];
      context.responseHeader.set("x-echoed-id", String(requestId));
      context.responseTrailer.set("x-model-version", "7");
      context.responseTrailer.set("x-trace-bin", Buffer.from([1, 2, 3]));
      assert.match(context.peer, /^(ipv4:)?127\.0\.0\.1:\d+$/);
      return {};
    },
  });
  let header: Metadata | undefined;
  let trailer: Metadata | undefined;
  await client.echo(
    {},
    { metadata: { "x-request-id": "req-42" }, onHeader: (m) => (header = m), onTrailer: (m) => (trailer = m) },
  );
  assert.deepEqual(header?.get("x-echoed-id"), ["req-42"]);
  assert.deepEqual(trailer?.get("x-model-version"), ["7"]);
  assert.deepEqual(trailer?.get("x-trace-bin"), [Buffer.from([1, 2, 3])]);
});

test("a method without a handler answers UNIMPLEMENTED", async (t) => {
  const client = await startEcho(t, { echo: () => ({}) });
  await assert.rejects(client.sum([{ value: 1n }]), (error: unknown) => {
    return error instanceof GrpcError && error.code === Status.UNIMPLEMENTED;
  });
});

test("an unreachable server fails with UNAVAILABLE", async () => {
  const client = createClient(EchoService, "127.0.0.1:1");
  try {
    await assert.rejects(client.echo({}, { timeoutMs: 2000 }), (error: unknown) => {
      return error instanceof GrpcError && error.code === Status.UNAVAILABLE;
    });
  } finally {
    client.close();
  }
});
