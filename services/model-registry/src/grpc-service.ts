import { createHash, timingSafeEqual } from "node:crypto";
import { LooplineError } from "@loopline/kit";
import { GrpcError, GrpcStatus, implementService, type HandlerContext, type ServiceBinding } from "@loopline/proto";
import { ModelRegistry, type RegisterVersionHeader } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { ArtifactCorruptedError, invalidArgument, RegistryError } from "./errors.js";
import type { Registry } from "./registry.js";

/** Size of the chunks GetArtifact streams. */
export const ARTIFACT_CHUNK_BYTES = 1024 * 1024;

/** Options of createRegistryBinding. */
export interface RegistryBindingOptions {
  registry: Registry;
  /** When non-empty, writing RPCs need `authorization: Bearer <token>`. Default "" (open). */
  token?: string;
  /** Largest ONNX upload accepted, in bytes. Default 256 MiB. */
  maxArtifactBytes?: number;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Maps the registry's typed errors to gRPC statuses; anything else stays INTERNAL (logged by the server). */
export function toGrpcError(err: unknown): unknown {
  if (err instanceof GrpcError) return err;
  if (err instanceof ArtifactCorruptedError) return new GrpcError(GrpcStatus.DATA_LOSS, err.message, { cause: err });
  if (err instanceof RegistryError || (err instanceof LooplineError && err.code === "UNAVAILABLE")) {
    const code = GrpcStatus[err.code as keyof typeof GrpcStatus] ?? GrpcStatus.INTERNAL;
    return new GrpcError(code, err.message, { cause: err });
  }
  return err;
}

async function mapped<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toGrpcError(err);
  }
}

/** The loopline.v1.ModelRegistry handlers over a Registry, with bearer-token checks on writes. */
export function createRegistryBinding(options: RegistryBindingOptions): ServiceBinding {
  const { registry } = options;
  const token = options.token ?? "";
  const expected = digest(`Bearer ${token}`);
  const maxArtifactBytes = options.maxArtifactBytes ?? 256 * 1024 * 1024;

  // Reads are open; writes need the token when one is configured. Comparing digests keeps the
  // comparison constant-time whatever the length of what the client sent.
  const authorize = (ctx: HandlerContext) => {
    if (token === "") return;
    const header = ctx.metadata.get("authorization")[0];
    if (typeof header !== "string" || header === "") {
      throw new GrpcError(GrpcStatus.UNAUTHENTICATED, "this registry needs `authorization: Bearer <token>` metadata for writes (LOOPLINE_REGISTRY_TOKEN)");
    }
    if (!timingSafeEqual(digest(header.trim()), expected)) throw new GrpcError(GrpcStatus.UNAUTHENTICATED, "the bearer token is not valid for this registry");
  };

  return implementService(ModelRegistry, {
    async registerVersion(requests, ctx) {
      return mapped(async () => {
        authorize(ctx);
        let header: RegisterVersionHeader | undefined;
        const chunks: Uint8Array[] = [];
        let size = 0;
        for await (const request of requests) {
          if (request.part.case === "header") {
            if (header !== undefined) throw invalidArgument("header", "sent twice: only the first message carries it");
            header = request.part.value;
          } else if (request.part.case === "chunk") {
            if (header === undefined) throw invalidArgument("header", "the first message must carry the header");
            size += request.part.value.length;
            if (size > maxArtifactBytes) throw invalidArgument("chunk", `the artifact exceeds ${maxArtifactBytes} bytes (LOOPLINE_REGISTRY_MAX_ARTIFACT_BYTES)`);
            chunks.push(request.part.value);
          }
        }
        if (header === undefined) throw invalidArgument("header", "is required");
        const { version, deduplicated } = await registry.register(
          {
            model: header.model,
            description: header.description,
            signature: header.signature,
            lineage: header.lineage,
            metrics: header.metrics,
            referenceProfile: header.referenceProfile,
            tags: header.tags,
            serving: header.serving,
            actor: header.actor,
          },
          chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks),
        );
        return { version, artifactDeduplicated: deduplicated };
      });
    },
    getModel: (request) => mapped(() => ({ model: registry.getModel(request.name) })),
    listModels: () => mapped(() => ({ models: registry.listModels() })),
    getVersion: (request) => mapped(() => ({ version: registry.getVersion(request.model, request.version, request.alias) })),
    listVersions: (request) => mapped(() => registry.listVersions(request)),
    async *getArtifact(request) {
      const { sha256, bytes } = await mapped(() => registry.artifact(request.model, request.version));
      for (let offset = 0; offset < bytes.length || offset === 0; offset += ARTIFACT_CHUNK_BYTES) {
        const chunk = bytes.subarray(offset, offset + ARTIFACT_CHUNK_BYTES);
        yield offset === 0 ? { chunk, sha256, size: BigInt(bytes.length) } : { chunk };
        if (bytes.length === 0) break;
      }
    },
    transitionStage: (request, ctx) =>
      mapped(async () => {
        authorize(ctx);
        const { version, previousProduction } = await registry.transition(request, request.actor);
        return { version, previousProductionVersion: previousProduction };
      }),
    setAlias: (request, ctx) =>
      mapped(async () => {
        authorize(ctx);
        return { version: await registry.setAlias(request, request.actor) };
      }),
    deleteAlias: (request, ctx) =>
      mapped(async () => {
        authorize(ctx);
        await registry.deleteAlias(request, request.actor);
        return {};
      }),
    setTags: (request, ctx) =>
      mapped(async () => {
        authorize(ctx);
        return { version: await registry.setTags(request, request.actor) };
      }),
    setServingConfig: (request, ctx) =>
      mapped(async () => {
        authorize(ctx);
        return { version: await registry.setServingConfig(request, request.actor) };
      }),
    rollback: (request, ctx) =>
      mapped(async () => {
        authorize(ctx);
        const { production, rolledBack } = await registry.rollback(request, request.actor);
        return { production, rolledBackVersion: rolledBack };
      }),
    getHistory: (request) => mapped(() => ({ events: registry.history(request.model, request.version) })),
    async *watchChanges(request, ctx) {
      try {
        for await (const event of registry.watch(request.fromSequence, request.model, ctx.signal)) yield { event };
      } catch (err) {
        throw toGrpcError(err);
      }
    },
  });
}
