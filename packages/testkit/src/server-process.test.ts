import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { eventually } from "./eventually.js";
import { freePort } from "./ports.js";
import { spawnUntilReady } from "./server-process.js";

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/** A stand-in server: node itself, listening on the port after a short delay. */
function nodeServer(port: number, delayMs: number): string[] {
  return ["-e", `setTimeout(() => require("node:net").createServer().listen(${port}, "127.0.0.1"), ${delayMs})`];
}

test("resolves once the server is ready, and kill leaves it exited and closed", async () => {
  const port = await freePort();
  const server = await spawnUntilReady({
    name: "stand-in", command: process.execPath, args: nodeServer(port, 200), ready: () => listening(port), timeoutMs: 20_000,
  });
  assert.equal(await listening(port), true);
  assert.ok(server.pid !== undefined && process.kill(server.pid, 0));
  await server.kill();
  assert.equal(await listening(port), false);
  assert.throws(() => process.kill(server.pid!, 0), { code: "ESRCH" });
});

test("a server that exits before it is ready fails the start at once, with what it wrote", async () => {
  const port = await freePort();
  const started = Date.now();
  await assert.rejects(
    spawnUntilReady({
      name: "stand-in",
      command: process.execPath,
      args: ["-e", `console.log("starting"); console.error("Address already in use: 127.0.0.1:${port}"); process.exit(3)`],
      ready: () => listening(port),
      timeoutMs: 60_000,
    }),
    (err: Error) => {
      assert.match(err.message, /^stand-in exited with code 3 before it was ready/);
      assert.match(err.message, /starting/);
      assert.match(err.message, new RegExp(`Address already in use: 127\\.0\\.0\\.1:${port}`));
      return true;
    },
  );
  // Far below the 60 s it would have waited for a dead process.
  assert.ok(Date.now() - started < 30_000);
});

test("a missing binary fails the start with the spawn error", async () => {
  await assert.rejects(
    spawnUntilReady({ name: "stand-in", command: "/nonexistent/loopline-server", args: [], ready: async () => false, timeoutMs: 60_000 }),
    /stand-in spawn \/nonexistent\/loopline-server ENOENT before it was ready/,
  );
});

test("a server that never gets ready fails after the timeout and is killed", async () => {
  const port = await freePort();
  let message = "";
  await assert.rejects(
    spawnUntilReady({
      name: "stand-in",
      command: process.execPath,
      args: ["-e", "console.log(`pid ${process.pid}`); setInterval(() => {}, 1000)"],
      ready: () => listening(port),
      timeoutMs: 1500,
    }),
    (err: Error) => ((message = err.message), true),
  );
  const m = /^stand-in was not ready within 1\.5 s:\npid (\d+)$/.exec(message);
  assert.ok(m, message);
  const alive = async () => {
    try {
      return process.kill(Number(m[1]), 0);
    } catch {
      return false;
    }
  };
  await eventually(alive, (up) => !up, { timeoutMs: 10_000, what: `stand-in ${m[1]} gone` });
});

test("a failed start shows the diagnosis when one is given, not the output", async () => {
  await assert.rejects(
    spawnUntilReady({
      name: "stand-in",
      command: process.execPath,
      args: ["-e", "console.log('noise'); process.exit(1)"],
      ready: async () => false,
      timeoutMs: 60_000,
      diagnose: async () => "server.err.log ends:\nDB::Exception: bad config",
    }),
    (err: Error) => {
      assert.equal(err.message, "stand-in exited with code 1 before it was ready:\nserver.err.log ends:\nDB::Exception: bad config");
      return true;
    },
  );
});
