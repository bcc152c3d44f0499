// Public API of @loopline/retrain-trigger: the service for in-process use (tests, the demo) and the
// pure policy and gate functions other tools may reuse.

export { loadRetrainConfig, retrainConfigSchema } from "./config.js";
export type { RetrainConfig } from "./config.js";
export { createRetrainController } from "./controller.js";
export type { ControllerDeps, ModelStatus, RetrainController, Rollout, StagedRollout } from "./controller.js";
export { canaryGate, gateSummary, offlineGate, shadowGate, watchVerdict } from "./gates.js";
export type { GateCheck, GateResult, LiveMetrics, OfflineInputs, WatchFacts, WatchVerdict } from "./gates.js";
export { pairedBootstrapAuc } from "./paired-bootstrap.js";
export type { AucDifference, ScoredPairs } from "./paired-bootstrap.js";
export { admitRetrain, evaluateReport, evaluateSchedule, INITIAL_POLICY_STATE } from "./policies.js";
export type { Admission, Evaluation, PolicyState, PolicyVerdict, ReportFacts } from "./policies.js";
export { DEFAULT_POLICY, parsePolicies, PolicyConfigError } from "./policy-config.js";
export type { ModelPolicy } from "./policy-config.js";
export { degradedSql, ROUTE_TEXT, routeScoresSql, shadowPairsSql, trainingSetSql } from "./queries.js";
export type { TrainingQuery } from "./queries.js";
export { createRegistryGateway } from "./registry-gateway.js";
export type { RegistryGateway } from "./registry-gateway.js";
export { servedValue, trainingSetFromServedRows } from "./served-rows.js";
export type { ServedRow } from "./served-rows.js";
export { trainingSetFromReplay } from "./replay-set.js";
export type { ReplayLabel } from "./replay-set.js";
export { createRetrainService } from "./service.js";
export type { RetrainService, RetrainServiceDeps } from "./service.js";
