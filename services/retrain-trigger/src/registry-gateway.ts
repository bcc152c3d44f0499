import { GrpcError, GrpcStatus, type Client } from "@loopline/proto";
import { Stage, type ModelRegistry, type ModelSignature, type ModelVersion } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import type { TrainedChallenger } from "@loopline/trainer";

/** The registry calls retrain-trigger makes, with its actor name and bearer token applied. */
export interface RegistryGateway {
  /** The production version of a model, or undefined (no model, or never promoted). */
  production(model: string): Promise<ModelVersion | undefined>;
  version(model: string, version: string): Promise<ModelVersion>;
  artifact(model: string, version: string): Promise<Uint8Array>;
  register(model: string, challenger: TrainedChallenger, extra: { description: string; tags: Record<string, string> }): Promise<ModelVersion>;
  /** TransitionStage with expected_stage (and, to production, expected_production_version). */
  transition(model: string, version: string, from: Stage, to: Stage, reason: string, evidence: unknown, expectedProduction?: string): Promise<ModelVersion>;
  setCanaryPercent(model: string, version: string, percent: number): Promise<void>;
  rollback(model: string, toVersion: string, reason: string, evidence: unknown): Promise<ModelVersion>;
  /** Versions retrain-trigger registered that are still in shadow or canary, with their model's production version. */
  challengersInFlight(): Promise<{ version: ModelVersion; production: string }[]>;
}

/** Builds the gateway over a ModelRegistry client. */
export function createRegistryGateway(client: Client<typeof ModelRegistry>, options: { actor: string; token: string }): RegistryGateway {
  const call = options.token === "" ? {} : { metadata: { authorization: `Bearer ${options.token}` } };
  const version = async (model: string, v: string): Promise<ModelVersion> => {
    const response = await client.getVersion({ model, version: v });
    if (response.version === undefined) throw new GrpcError(GrpcStatus.NOT_FOUND, `${model} version ${v}: empty answer`);
    return response.version;
  };
  return {
    production: async (model) => {
      try {
        const response = await client.getModel({ name: model });
        const current = response.model?.productionVersion ?? "";
        return current === "" ? undefined : await version(model, current);
      } catch (err) {
        if (err instanceof GrpcError && err.code === GrpcStatus.NOT_FOUND) return undefined;
        throw err;
      }
    },
    version,
    artifact: async (model, v) => {
      const chunks: Uint8Array[] = [];
      for await (const part of client.getArtifact({ model, version: v })) chunks.push(part.chunk);
      return new Uint8Array(Buffer.concat(chunks));
    },
    register: async (model, challenger, extra) => {
      const chunk = 1024 * 1024;
      const header = {
        model,
        description: extra.description,
        signature: challenger.signature as ModelSignature,
        lineage: {
          source: challenger.lineage.source,
          runId: extra.tags["retrain_id"] ?? "",
          trainingQuery: challenger.lineage.trainingQuery,
          trainingRows: BigInt(challenger.lineage.trainingRows),
          trainingDataSha256: challenger.lineage.trainingDataSha256,
          parentVersion: challenger.lineage.parentVersion,
          attributes: challenger.lineage.attributes,
        },
        metrics: challenger.metrics,
        referenceProfile: challenger.profile,
        tags: extra.tags,
        actor: options.actor,
      };
      const messages = [
        { part: { case: "header" as const, value: header } },
        ...Array.from({ length: Math.ceil(challenger.onnx.length / chunk) }, (_, i) => ({ part: { case: "chunk" as const, value: challenger.onnx.subarray(i * chunk, (i + 1) * chunk) } })),
      ];
      const response = await client.registerVersion(messages, call);
      if (response.version === undefined) throw new GrpcError(GrpcStatus.INTERNAL, "RegisterVersion answered without a version");
      return response.version;
    },
    transition: async (model, v, from, to, reason, evidence, expectedProduction) => {
      const response = await client.transitionStage(
        { model, version: v, toStage: to, expectedStage: from, actor: options.actor, reason, evidenceJson: JSON.stringify(evidence), expectedProductionVersion: expectedProduction ?? "" },
        call,
      );
      if (response.version === undefined) throw new GrpcError(GrpcStatus.INTERNAL, "TransitionStage answered without a version");
      return response.version;
    },
    setCanaryPercent: async (model, v, percent) => {
      const current = await version(model, v);
      await client.setServingConfig({ model, version: v, serving: { canaryPercent: percent, maxBatchSize: current.serving?.maxBatchSize ?? 0, maxQueueDelayUs: current.serving?.maxQueueDelayUs ?? 0 }, actor: options.actor }, call);
    },
    challengersInFlight: async () => {
      const out: { version: ModelVersion; production: string }[] = [];
      for (const model of (await client.listModels({})).models) {
        if (model.productionVersion === "") continue;
        const { versions } = await client.listVersions({ model: model.name, tag: "created_by=retrain-trigger", pageSize: 1000 });
        for (const v of versions) if (v.stage === Stage.SHADOW || v.stage === Stage.CANARY) out.push({ version: v, production: model.productionVersion });
      }
      return out;
    },
    rollback: async (model, toVersion, reason, evidence) => {
      const response = await client.rollback({ model, toVersion, actor: options.actor, reason, evidenceJson: JSON.stringify(evidence) }, call);
      if (response.production === undefined) throw new GrpcError(GrpcStatus.INTERNAL, "Rollback answered without a production version");
      return response.production;
    },
  };
}

export { Stage };
