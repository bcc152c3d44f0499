import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@loopline/kit";
import { createClient, GrpcError, GrpcStatus } from "@loopline/proto";
import { ModelRegistry, type ModelVersion } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import type { ModelSource } from "./model-source.js";

/** Options of createRegistrySource. */
export interface RegistrySourceOptions {
  /** model-registry gRPC address, "host:port". */
  address: string;
  /** Logger for reconnects. */
  logger: Logger;
  /** Timeout of unary calls and of each artifact download, ms. Default 30000. */
  timeoutMs?: number;
  /** First reconnect delay, doubling up to 10 s. Default 250. */
  retryMs?: number;
  /** Largest message accepted (artifact chunks), bytes. Default 16 MiB. */
  maxMessageBytes?: number;
}

/**
 * Versions from the model registry: lists every version once (ListModels + ListVersions), then
 * follows WatchChanges from the highest sequence seen + 1, reconnecting with backoff and resuming
 * where it stopped. Every event's snapshot (the version's full state) is handed on.
 */
export function createRegistrySource(options: RegistrySourceOptions): ModelSource {
  const log = options.logger.child({ component: "registry-source", address: options.address });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const client = createClient(ModelRegistry, options.address, {
    ...(options.maxMessageBytes === undefined ? {} : { maxReceiveMessageBytes: options.maxMessageBytes }),
  });
  const stop = new AbortController();
  let loop: Promise<void> | undefined;

  const listAll = async (): Promise<ModelVersion[]> => {
    const versions: ModelVersion[] = [];
    const { models } = await client.listModels({}, { timeoutMs, signal: stop.signal });
    for (const model of models) {
      let pageToken = "";
      do {
        const page = await client.listVersions({ model: model.name, pageSize: 1000, pageToken }, { timeoutMs, signal: stop.signal });
        versions.push(...page.versions);
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
    }
    return versions.sort((a, b) => (a.lastSequence < b.lastSequence ? -1 : a.lastSequence > b.lastSequence ? 1 : 0));
  };

  const follow = async (onVersion: (version: ModelVersion) => void, caughtUp: () => void): Promise<void> => {
    let from: bigint | undefined;
    let delay = options.retryMs ?? 250;
    while (!stop.signal.aborted) {
      try {
        if (from === undefined) {
          const versions = await listAll();
          let max = 0n;
          for (const v of versions) {
            onVersion(v);
            if (v.lastSequence > max) max = v.lastSequence;
          }
          from = max + 1n;
          caughtUp();
          log.info("registry state loaded", { versions: versions.length, nextSequence: from.toString() });
        }
        for await (const change of client.watchChanges({ fromSequence: from }, { signal: stop.signal })) {
          const event = change.event;
          if (event === undefined) continue;
          if (event.sequence >= from) from = event.sequence + 1n;
          if (event.snapshot !== undefined && event.snapshot.version !== "") onVersion(event.snapshot);
          delay = options.retryMs ?? 250;
        }
      } catch (err) {
        if (stop.signal.aborted) return;
        log.warn("registry unreachable; retrying", { err, retryInMs: delay, fromSequence: from?.toString() });
      }
      await sleep(delay, undefined, { signal: stop.signal }).catch(() => undefined);
      delay = Math.min(10_000, delay * 2);
    }
  };

  return {
    description: `registry ${options.address}`,
    start(onVersion) {
      return new Promise<void>((resolve) => {
        loop = follow(onVersion, resolve);
      });
    },
    async fetchArtifact(model, version, signal) {
      const chunks: Uint8Array[] = [];
      let expected = "";
      const hash = createHash("sha256");
      const signals = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
      for await (const part of client.getArtifact({ model, version }, { timeoutMs, signal: signals })) {
        if (part.sha256 !== "") expected = part.sha256;
        chunks.push(part.chunk);
        hash.update(part.chunk);
      }
      const actual = hash.digest("hex");
      if (expected !== "" && expected !== actual) {
        throw new GrpcError(GrpcStatus.DATA_LOSS, `artifact of ${model} version ${version}: sha256 ${actual}, registry says ${expected}`);
      }
      return Buffer.concat(chunks);
    },
    async close() {
      stop.abort();
      await loop;
      client.close();
    },
  };
}
