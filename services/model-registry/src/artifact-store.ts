import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ArtifactCorruptedError, RegistryError } from "./errors.js";

/** Where model artifacts live, addressed by the sha256 of their bytes. */
export interface ArtifactStore {
  /** Stores bytes under their sha256; identical bytes are stored once (`deduplicated` true). */
  put(bytes: Uint8Array): Promise<{ sha256: string; size: number; deduplicated: boolean }>;
  /** The bytes at an address, hash-checked: throws ArtifactCorruptedError rather than serve altered bytes, NOT_FOUND when absent. */
  get(sha256: string): Promise<Uint8Array>;
  /** Whether an address is stored (not hash-checked). */
  has(sha256: string): Promise<boolean>;
}

/** The sha256 of bytes as 64 lower-case hex digits. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

const ADDRESS = /^[0-9a-f]{64}$/;

/**
 * An ArtifactStore in a local folder: `<dir>/sha256/<first two hex digits>/<sha256>`. Writes go to
 * a temporary file renamed into place, so a crash never leaves a partial file under an address.
 */
export function createLocalArtifactStore(dir: string): ArtifactStore {
  const pathOf = (sha256: string) => {
    if (!ADDRESS.test(sha256)) throw new RegistryError("INVALID_ARGUMENT", `artifact address ${JSON.stringify(sha256)} is not a sha256`);
    return join(dir, "sha256", sha256.slice(0, 2), sha256);
  };
  const exists = async (path: string) => {
    try {
      await stat(path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  };
  return {
    async put(bytes) {
      const sha256 = sha256Hex(bytes);
      const path = pathOf(sha256);
      if (await exists(path)) return { sha256, size: bytes.length, deduplicated: true };
      await mkdir(dirname(path), { recursive: true });
      const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
      try {
        await writeFile(temporary, bytes);
        await rename(temporary, path);
      } catch (err) {
        await unlink(temporary).catch(() => undefined);
        throw new RegistryError("UNAVAILABLE", `artifact store: cannot write ${path}: ${(err as Error).message}`, { cause: err });
      }
      return { sha256, size: bytes.length, deduplicated: false };
    },
    async get(sha256) {
      const path = pathOf(sha256);
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new RegistryError("NOT_FOUND", `artifact ${sha256} is not in the store`);
        throw new RegistryError("UNAVAILABLE", `artifact store: cannot read ${path}: ${(err as Error).message}`, { cause: err });
      }
      const actual = sha256Hex(bytes);
      if (actual !== sha256) throw new ArtifactCorruptedError(sha256, actual);
      return bytes;
    },
    has: async (sha256) => exists(pathOf(sha256)),
  };
}
