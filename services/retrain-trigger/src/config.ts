import { readFileSync } from "node:fs";
import { commonConfigSchema, ConfigError, defineConfig, loadConfig, type ConfigOf } from "@loopline/kit";
import { parseTrainerSpec, TrainerError, type TrainerSpec } from "@loopline/trainer";
import { parsePolicies, PolicyConfigError, type ModelPolicy } from "./policy-config.js";

/** retrain-trigger's environment variables (plus the common LOOPLINE_* ones). */
export const retrainConfigSchema = defineConfig({
  ...commonConfigSchema,
  adminPort: { type: "int", env: "LOOPLINE_RETRAIN_ADMIN_PORT", default: 9406, min: 0, max: 65535, doc: "admin HTTP port (/metrics, /healthz, /readyz)" },
  registryAddress: { type: "string", env: "LOOPLINE_REGISTRY_ADDRESS", default: "127.0.0.1:50053", doc: "model-registry gRPC address" },
  registryToken: { type: "string", env: "LOOPLINE_REGISTRY_TOKEN", default: "", doc: "bearer token for registry writes (when the registry has one)" },
  trainer: { type: "string", env: "LOOPLINE_RETRAIN_TRAINER", default: "builtin:logistic", doc: "builtin:logistic | builtin:gbt | command:<path> [args] (external trainer contract)" },
  logisticC: { type: "number", env: "LOOPLINE_RETRAIN_LOGISTIC_C", default: 1, min: 1e-9, doc: "built-in logistic regression: inverse L2 strength (scikit-learn's C)" },
  classWeight: { type: "enum", env: "LOOPLINE_RETRAIN_CLASS_WEIGHT", values: ["none", "balanced"], default: "none", doc: "built-in logistic regression: class weights" },
  gbtTrees: { type: "int", env: "LOOPLINE_RETRAIN_GBT_TREES", default: 100, min: 1, max: 5000, doc: "built-in gradient boosting: trees" },
  gbtMaxDepth: { type: "int", env: "LOOPLINE_RETRAIN_GBT_MAX_DEPTH", default: 3, min: 1, max: 12, doc: "built-in gradient boosting: depth limit of each tree" },
  gbtLearningRate: { type: "number", env: "LOOPLINE_RETRAIN_GBT_LEARNING_RATE", default: 0.1, min: 1e-6, max: 1, doc: "built-in gradient boosting: shrinkage" },
  gbtMinSamplesLeaf: { type: "int", env: "LOOPLINE_RETRAIN_GBT_MIN_SAMPLES_LEAF", default: 1, min: 1, doc: "built-in gradient boosting: fewest samples per leaf" },
  trainerTimeoutMs: { type: "duration", env: "LOOPLINE_RETRAIN_TRAINER_TIMEOUT", default: 600_000, doc: "time limit of an external trainer command" },
  policies: { type: "string", env: "LOOPLINE_RETRAIN_POLICIES", default: "", doc: "policies JSON, or @<path> of a JSON file (services/retrain-trigger/README.md describes them); blank: defaults for every model" },
  tickMs: { type: "duration", env: "LOOPLINE_RETRAIN_TICK", default: 30_000, doc: "how often shadow/canary/watch evidence and the schedule are checked" },
  consumerGroup: { type: "string", env: "LOOPLINE_RETRAIN_GROUP", default: "loopline-retrain-trigger", doc: "Kafka consumer group on loopline.drift" },
  actor: { type: "string", env: "LOOPLINE_RETRAIN_ACTOR", default: "retrain-trigger", doc: "actor recorded on registry changes" },
});

/** Typed retrain-trigger config, with the policies and trainer parsed. */
export type RetrainConfig = ConfigOf<typeof retrainConfigSchema> & {
  readonly trainerSpec: TrainerSpec;
  readonly modelPolicies: ReturnType<typeof parsePolicies>;
};

/** Reads and validates the config; throws ConfigError naming every bad variable. */
export function loadRetrainConfig(env: Readonly<Record<string, string | undefined>>): RetrainConfig {
  const base = loadConfig(retrainConfigSchema, env);
  const problems: { variable: string; problem: string }[] = [];
  let trainerSpec: TrainerSpec = { kind: "logistic" };
  try {
    trainerSpec = parseTrainerSpec(base.trainer);
  } catch (err) {
    if (!(err instanceof TrainerError)) throw err;
    problems.push({ variable: "LOOPLINE_RETRAIN_TRAINER", problem: err.message });
  }
  let modelPolicies = parsePolicies("");
  try {
    const text = base.policies.startsWith("@") ? readFileSync(base.policies.slice(1), "utf8") : base.policies;
    modelPolicies = parsePolicies(text);
  } catch (err) {
    if (!(err instanceof PolicyConfigError) && !(err instanceof Error && "code" in err && err.code === "ENOENT")) throw err;
    problems.push({ variable: "LOOPLINE_RETRAIN_POLICIES", problem: (err as Error).message });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...base, trainerSpec, modelPolicies };
}

export type { ModelPolicy };
