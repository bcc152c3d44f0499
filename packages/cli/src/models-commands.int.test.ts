import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentLogger } from "@loopline/kit";
import { createRegistryService, loadRegistryConfig } from "@loopline/model-registry";
import { isolateStack } from "@loopline/testkit";
import { exportLogisticRegressionOnnx } from "@loopline/trainer";
import { modelsCommands } from "./models-commands.js";
import { capture } from "./capture.test-helper.js";

test("register, promote, show, rollback and history through the CLI against a running registry", async (t) => {
  const stack = await isolateStack(t);
  const dir = await mkdtemp(join(tmpdir(), "loopline-cli-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = loadRegistryConfig({ LOOPLINE_TOPIC_PREFIX: stack.topicPrefix, LOOPLINE_REGISTRY_GRPC_PORT: "0", LOOPLINE_REGISTRY_ARTIFACT_DIR: join(dir, "artifacts"), LOOPLINE_REGISTRY_TOKEN: "tok" });
  const service = createRegistryService(config, { logger: silentLogger });
  await service.start();
  t.after(() => service.close(1000));
  const env = { LOOPLINE_REGISTRY_ADDRESS: `127.0.0.1:${service.grpcPort}`, LOOPLINE_REGISTRY_TOKEN: "tok", LOOPLINE_ACTOR: "ana" };
  const run = async (args: string[], environment: Record<string, string> = env) => {
    const io = capture(environment);
    const command = modelsCommands.find((c) => c.path[1] === args[0]);
    assert.ok(command, args[0]);
    const code = await command.run(args.slice(1), io);
    return { code, out: io.stdout(), err: io.stderr() };
  };

  const signature = join(dir, "signature.json");
  await writeFile(signature, JSON.stringify({
    inputTensor: "features",
    inputs: [{ featureRef: "tx:amount", encoding: "INPUT_ENCODING_NUMBER" }, { featureRef: "tx:hour", encoding: "INPUT_ENCODING_NUMBER" }],
    outputs: [{ name: "probability", meaning: "[P(0), P(1)]" }],
    scoreOutput: "probability",
    scoreIndex: 1,
    threshold: 0.5,
    scoreMin: 0,
    scoreMax: 1,
  }));
  for (const [i, intercept] of [0.1, 0.2].entries()) {
    const onnx = join(dir, `m${i}.onnx`);
    await writeFile(onnx, exportLogisticRegressionOnnx({ weights: [0.01, -0.1], intercept }));
    const registered = await run(["register", "fraud", "--onnx", onnx, "--signature", signature, "--metrics", "auc=0.9", "--description", "first"]);
    assert.equal(registered.code, 0, registered.err);
    assert.match(registered.out, new RegExp(`fraud version ${i + 1} registered \\(ready, candidate\\)`));
  }
  const denied = await run(["promote", "fraud", "1", "--to", "production"], { LOOPLINE_REGISTRY_ADDRESS: env.LOOPLINE_REGISTRY_ADDRESS });
  assert.equal(denied.code, 1);
  assert.match(denied.err, /^loopline models promote: UNAUTHENTICATED: /);

  assert.match((await run(["promote", "fraud", "1", "--to", "production", "--reason", "first champion"])).out, /fraud version 1: candidate → production/);
  assert.match((await run(["promote", "fraud", "2", "--to", "production"])).out, /fraud version 2: candidate → production; version 1 archived/);
  const refused = await run(["promote", "fraud", "2", "--to", "archived"]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /FAILED_PRECONDITION: fraud\/2: the production version cannot be moved directly/);

  const rolled = await run(["rollback", "fraud", "--reason", "latency regression"]);
  assert.match(rolled.out, /fraud: rolled back from version 2 to version 1 \(now production\)/);

  const list = await run(["list", "--json"]);
  assert.deepEqual(JSON.parse(list.out), { models: [{ name: "fraud", description: "first", productionVersion: "1", latestVersion: "2", createdAtMs: JSON.parse(list.out).models[0].createdAtMs, versionCount: 2 }] });
  const table = (await run(["show", "fraud"])).out.split("\n");
  assert.match(table[0] ?? "", /^fraud: production 1, latest 2, 2 versions/);
  assert.match(table[2] ?? "", /^1 +production +ready/);
  assert.match(table[3] ?? "", /^2 +archived +ready/);
  const detail = (await run(["show", "fraud", "production"])).out;
  assert.match(detail, /^model +fraud$/m);
  assert.match(detail, /^version +1$/m);
  assert.match(detail, /^score +probability\[:, 1\] in \[0, 1\]/m);

  const history = JSON.parse((await run(["history", "fraud", "--json"])).out) as { events: { type: string; actor: string; reason?: string }[] };
  assert.deepEqual(history.events.map((e) => e.type), [
    "MODEL_EVENT_TYPE_VERSION_REGISTERED",
    "MODEL_EVENT_TYPE_VERSION_REGISTERED",
    "MODEL_EVENT_TYPE_STAGE_CHANGED",
    "MODEL_EVENT_TYPE_STAGE_CHANGED",
    "MODEL_EVENT_TYPE_STAGE_CHANGED",
    "MODEL_EVENT_TYPE_ROLLED_BACK",
    "MODEL_EVENT_TYPE_ROLLED_BACK",
  ]);
  assert.ok(history.events.every((e) => e.actor === "ana"));
  assert.equal(history.events.at(-1)?.reason, "latency regression");
  const human = (await run(["history", "fraud"])).out;
  assert.match(human, /rolled_back +1 +archived → production +ana +latency regression/);

  const missing = await run(["show", "nope"]);
  assert.equal(missing.code, 1);
  assert.equal(missing.err, "loopline models show: NOT_FOUND: model nope not found\n");
});
