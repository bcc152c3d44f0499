import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parsePairs, usageFlags } from "./commands.js";
import { modelsCommands, readSignature } from "./models-commands.js";
import { capture } from "./capture.test-helper.js";

const command = (name: string) => {
  const found = modelsCommands.find((c) => c.path[1] === name);
  assert.ok(found, name);
  return found;
};

async function tempDir(t: { after(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), "loopline-cli-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("metrics and tags parse from k=v lists; malformed pairs are refused", () => {
  assert.deepEqual(parsePairs("auc=0.91, log_loss=0.3", "metrics", Number), { auc: 0.91, log_loss: 0.3 });
  assert.deepEqual(parsePairs("", "tags", (v) => v), {});
  assert.throws(() => parsePairs("auc", "metrics", Number), /--metrics: "auc" is not key=value/);
});

test("a signature file is read as the proto3 JSON form of ModelSignature", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "signature.json");
  await writeFile(path, JSON.stringify({ inputTensor: "X", inputs: [{ featureRef: "tx:amount", encoding: "INPUT_ENCODING_NUMBER" }], scoreOutput: "p", scoreIndex: 1, scoreMax: 1 }));
  const signature = await readSignature(path);
  assert.equal(signature.inputTensor, "X");
  assert.equal(signature.inputs[0]?.featureRef, "tx:amount");
  assert.equal(signature.scoreIndex, 1);
  await writeFile(path, JSON.stringify({ inputTensor: "X", colour: "red" }));
  await assert.rejects(readSignature(path), /signature .*colour/);
});

test("usage mistakes are one clear line and exit code 2, before any call", async (t) => {
  const dir = await tempDir(t);
  const cases: [string, string[], RegExp][] = [
    ["register", ["fraud", "--signature", "s.json"], /--onnx is required/],
    ["register", ["fraud", "--onnx", join(dir, "missing.onnx"), "--signature", join(dir, "missing.json")], /signature .*missing.json: no such file/],
    ["register", [], /MODEL is required/],
    ["promote", ["fraud", "2", "--to", "prod"], /--to: "prod" is not one of candidate, shadow, canary, production, archived/],
    ["rollback", ["fraud"], /--reason is required/],
    // A misspelt optional flag would otherwise drop the promotion's reason from the audit trail.
    ["promote", ["fraud", "2", "--to", "production", "--reasn", "beats the champion"], /^loopline models promote: unknown flag --reasn\n/],
    ["list", ["--jsn"], /unknown flag --jsn/],
  ];
  for (const [name, args, message] of cases) {
    const io = capture({ LOOPLINE_REGISTRY_ADDRESS: "127.0.0.1:1" });
    assert.equal(await command(name).run(args, io), 2, `${name} ${args.join(" ")}`);
    assert.match(io.stderr(), message);
    assert.equal(io.stderr().split("\n")[0]?.startsWith(`loopline models ${name}: `), true);
  }
});

test("usageFlags reads the flags a usage line names", () => {
  assert.deepEqual(usageFlags("MODEL VERSION --to candidate|shadow [--reason TEXT] [--run-id ID] [--json]"), ["to", "reason", "run-id", "json"]);
  assert.deepEqual(usageFlags("MODEL"), []);
});

test("an unreachable registry is reported as UNAVAILABLE with the address to check", async () => {
  const io = capture({ LOOPLINE_REGISTRY_ADDRESS: "127.0.0.1:1" });
  assert.equal(await command("list").run([], io), 1);
  assert.match(io.stderr(), /^loopline models list: UNAVAILABLE: .*\(registry at 127\.0\.0\.1:1, LOOPLINE_REGISTRY_ADDRESS\)\n$/);
});
