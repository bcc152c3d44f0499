import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { create, fromJsonString } from "@bufbuild/protobuf";
import type { Logger } from "@loopline/kit";
import { ModelVersionSchema, Stage, VersionStatus, type ModelVersion } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import type { ModelSource } from "./model-source.js";

/** File names inside a version folder. */
export const FOLDER_FILES = { artifact: "model.onnx", version: "version.json" } as const;

/** Options of createFolderSource. */
export interface FolderSourceOptions {
  /** Root folder: `<root>/<model>/<version>/{model.onnx, version.json}`. */
  root: string;
  /** How often the folder is rescanned, ms; 0 = only on refresh(). Default 2000. */
  pollIntervalMs?: number;
  /** Logger for unreadable folders. */
  logger: Logger;
}

/** A folder model source with an explicit rescan for tests and tools. */
export interface FolderSource extends ModelSource {
  /** Rescans now; resolves once every change found has been delivered. */
  refresh(): Promise<void>;
}

/**
 * Models from a local folder, for benchmarks, tests and registry-less setups. Each version folder
 * holds the ONNX file and `version.json`, the protobuf JSON of loopline.v1.ModelVersion (at least
 * `stage` and `signature`; model and version come from the folder names; status defaults to READY).
 * Write model.onnx before version.json: a version is picked up when version.json changes.
 * A removed version folder counts as archived.
 */
export function createFolderSource(options: FolderSourceOptions): FolderSource {
  const log = options.logger.child({ component: "folder-source" });
  const known = new Map<string, { fingerprint: string; version: ModelVersion }>();
  let listener: ((version: ModelVersion) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;

  const listDirs = async (dir: string): Promise<string[]> => {
    try {
      return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return [];
    }
  };

  const scanOnce = async (): Promise<void> => {
    const seen = new Set<string>();
    for (const model of (await listDirs(options.root)).sort()) {
      for (const version of (await listDirs(join(options.root, model))).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))) {
        const key = `${model}/${version}`;
        const dir = join(options.root, model, version);
        let text: string;
        let artifactStat: { size: number; mtimeMs: number };
        try {
          text = await readFile(join(dir, FOLDER_FILES.version), "utf8");
          artifactStat = await stat(join(dir, FOLDER_FILES.artifact));
        } catch {
          continue; // incomplete folder: not a version yet
        }
        seen.add(key);
        const fingerprint = `${text}\n${artifactStat.size}:${artifactStat.mtimeMs}`;
        if (known.get(key)?.fingerprint === fingerprint) continue;
        let parsed: ModelVersion;
        try {
          parsed = fromJsonString(ModelVersionSchema, text, { ignoreUnknownFields: true });
        } catch (err) {
          log.error("version.json is not a loopline.v1.ModelVersion; skipped", { dir, err });
          continue;
        }
        const bytes = await readFile(join(dir, FOLDER_FILES.artifact));
        parsed.model = model;
        parsed.version = version;
        if (parsed.status === VersionStatus.UNSPECIFIED) parsed.status = VersionStatus.READY;
        parsed.artifactSha256 = createHash("sha256").update(bytes).digest("hex");
        parsed.artifactSize = BigInt(bytes.length);
        known.set(key, { fingerprint, version: parsed });
        listener?.(parsed);
      }
    }
    for (const [key, entry] of known) {
      if (seen.has(key)) continue;
      known.delete(key);
      listener?.(create(ModelVersionSchema, { ...entry.version, stage: Stage.ARCHIVED }));
    }
  };

  const scan = (): Promise<void> => {
    // One scan at a time; a refresh during a scan waits for it and then scans again.
    const next = (scanning ?? Promise.resolve()).then(scanOnce);
    scanning = next.catch((err: unknown) => log.error("model folder scan failed", { err }));
    return next;
  };

  return {
    description: `folder ${options.root}`,
    async start(onVersion) {
      listener = onVersion;
      await scan();
      const interval = options.pollIntervalMs ?? 2000;
      if (interval > 0) {
        timer = setInterval(() => void scan().catch(() => undefined), interval);
        timer.unref();
      }
    },
    refresh: scan,
    async fetchArtifact(model, version) {
      return new Uint8Array(await readFile(join(options.root, model, version, FOLDER_FILES.artifact)));
    },
    async close() {
      if (timer !== undefined) clearInterval(timer);
      listener = undefined;
      await scanning;
    },
  };
}
