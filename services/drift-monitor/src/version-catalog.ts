// Model versions from the registry, fetched once each: a version's signature, threshold and reference
// profile never change after registration, so the cache never goes stale. Unknown versions are remembered
// for a short while so a stream of records for a deleted or mistyped version does not hammer the registry.
import { UnavailableError, describeError } from "@loopline/kit";
import { GrpcError, GrpcStatus, createClient } from "@loopline/proto";
import { ModelRegistry, type ModelVersion } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { monitoredVersion, type MonitoredVersion } from "./monitored-version.js";

/** Where versions come from: undefined when the registry does not know the version; throws when unreachable. */
export interface VersionSource {
  get(model: string, version: string): Promise<ModelVersion | undefined>;
  /** True when the source answers (readiness). */
  ping(): Promise<boolean>;
  close(): void;
}

/** A VersionSource over the ModelRegistry gRPC service. */
export function createRegistryVersionSource(options: { address: string; timeoutMs: number }): VersionSource {
  const client = createClient(ModelRegistry, options.address, { timeoutMs: options.timeoutMs });
  return {
    async get(model, version) {
      try {
        return (await client.getVersion({ model, version })).version;
      } catch (err) {
        if (err instanceof GrpcError && err.code === GrpcStatus.NOT_FOUND) return undefined;
        throw new UnavailableError("model-registry", `GetVersion ${model}/${version}: ${describeError(err).message}`, { cause: err });
      }
    },
    async ping() {
      try {
        await client.listModels({}, { timeoutMs: Math.min(options.timeoutMs, 2000) });
        return true;
      } catch {
        return false;
      }
    },
    close: () => client.close(),
  };
}

/** Options of createVersionCatalog. */
export interface VersionCatalogOptions {
  readonly source: VersionSource;
  /** How long "unknown version" is remembered, ms. Default 30000. */
  readonly unknownTtlMs?: number;
  /** Clock. Default Date.now. */
  readonly now?: () => number;
}

/** Cached monitored versions. */
export interface VersionCatalog {
  /** Fetches what is not cached yet (in parallel); throws UnavailableError when the registry cannot be asked. */
  load(keys: Iterable<readonly [model: string, version: string]>): Promise<void>;
  /** The version if loaded and known; undefined when unknown to the registry (or not loaded). */
  get(model: string, version: string): MonitoredVersion | undefined;
}

/** Creates the catalog. */
export function createVersionCatalog(options: VersionCatalogOptions): VersionCatalog {
  const now = options.now ?? Date.now;
  const unknownTtlMs = options.unknownTtlMs ?? 30_000;
  const known = new Map<string, MonitoredVersion>();
  const unknownUntil = new Map<string, number>();
  const id = (model: string, version: string) => `${model}\u0000${version}`;
  return {
    async load(keys) {
      const t = now();
      const missing = new Map<string, readonly [string, string]>();
      for (const [model, version] of keys) {
        const k = id(model, version);
        if (known.has(k) || (unknownUntil.get(k) ?? 0) > t) continue;
        missing.set(k, [model, version]);
      }
      await Promise.all(
        [...missing].map(async ([k, [model, version]]) => {
          const v = await options.source.get(model, version);
          if (v === undefined) unknownUntil.set(k, t + unknownTtlMs);
          else {
            known.set(k, monitoredVersion(v));
            unknownUntil.delete(k);
          }
        }),
      );
    },
    get(model, version) {
      return known.get(id(model, version));
    },
  };
}
