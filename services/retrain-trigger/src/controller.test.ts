import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { createMetrics, silentLogger, type ClickHouse } from "@loopline/kit";
import { DriftReportSchema, type RetrainDecision } from "@loopline/proto/gen/loopline/v1/drift_pb.js";
import { Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { ModelVersionSchema, Stage, type ModelVersion } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { numericSignature, type Trainer } from "@loopline/trainer";
import { createRetrainController } from "./controller.js";
import { parsePolicies } from "./policy-config.js";
import type { RegistryGateway } from "./registry-gateway.js";

// The controller with a fake registry and no ClickHouse: what it decides before any training starts.

const version = (fields: { version?: string; stage?: Stage; updatedAtMs?: bigint; tags?: Record<string, string> }) => create(ModelVersionSchema, { model: "fraud", version: "1", stage: Stage.PRODUCTION, metrics: { auc: 0.9 }, signature: numericSignature(["v:a"]), ...fields });
const unused = () => Promise.reject(new Error("not expected in this test"));

function harness(inFlight: { version: ModelVersion; production: string }[] = []) {
  const decisions: RetrainDecision[] = [];
  const registry: RegistryGateway = {
    production: () => Promise.resolve(version({})),
    version: unused,
    artifact: unused,
    register: unused,
    transition: unused,
    setCanaryPercent: unused,
    rollback: unused,
    challengersInFlight: () => Promise.resolve(inFlight),
  };
  const trainer: Trainer = { name: "test:unused", fit: unused };
  const controller = createRetrainController({
    registry,
    // A ClickHouse that never answers: the training job stays in flight.
    clickhouse: { query: () => new Promise(() => undefined) } as unknown as ClickHouse,
    database: "unused",
    publish: (d) => {
      decisions.push(d);
      return Promise.resolve();
    },
    policies: parsePolicies(JSON.stringify({ fraud: { drift: { consecutive: 1 }, cooldown: 0 } })),
    trainer,
    logger: silentLogger,
    metrics: createMetrics({ service: "test", defaultMetrics: false }),
  });
  return { controller, decisions };
}

let end = 1_000_000;
const report = (fields: { version?: string; route?: Route; segment?: string; share: number }) =>
  create(DriftReportSchema, { reportId: `r${end}`, model: "fraud", modelVersion: fields.version ?? "1", route: fields.route ?? Route.PRODUCTION, segment: fields.segment ?? "", windowEndMs: BigInt((end += 1000)), driftedShare: fields.share });

test("only the production route's whole-traffic reports drive the policies", async () => {
  const { controller, decisions } = harness();
  await controller.onDriftReport(report({ route: Route.CANARY, share: 1 }));
  await controller.onDriftReport(report({ segment: "country=FR", share: 1 }));
  assert.equal(decisions.length, 0);
  await controller.onDriftReport(report({ version: "7", share: 1 }));
  assert.equal(decisions.length, 0, "a report about a version that is not in production is ignored");
  await controller.onDriftReport(report({ share: 0.1 }));
  assert.deepEqual(decisions.map((d) => [d.policy, d.action]), [["drift+decay", "declined"]]);
});

test("a second trigger while a retrain is in flight is published as declined with both reasons", async () => {
  const { controller, decisions } = harness();
  await controller.onDriftReport(report({ share: 0.9 }));
  await controller.onDriftReport(report({ share: 0.9 }));
  assert.deepEqual(decisions.map((d) => d.action), ["triggered", "declined"]);
  assert.match(decisions[1]?.reason ?? "", /drifted_share ≥ 0\.5.*a retrain is already in flight \(training\)/);
  assert.equal(controller.status()[0]?.rollout.phase, "training");
  assert.match((await controller.retrain("fraud", "operator")).reason, /manual: operator; a retrain is already in flight/);
});

test("a restart resumes challengers left in shadow or canary", async () => {
  const shadow = version({ version: "4", stage: Stage.SHADOW, updatedAtMs: 123n, tags: { retrain_id: "abc" } });
  const { controller } = harness([{ version: shadow, production: "3" }]);
  assert.equal(await controller.resume(), 1);
  assert.deepEqual(controller.status()[0]?.rollout, { phase: "shadow", retrainId: "abc", version: "4", champion: "3", sinceMs: 123 });
});
