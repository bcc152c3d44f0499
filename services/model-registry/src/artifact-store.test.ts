import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createLocalArtifactStore } from "./artifact-store.js";
import { ArtifactCorruptedError, RegistryError } from "./errors.js";

async function tempStore(t: { after(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), "loopline-artifacts-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { dir, store: createLocalArtifactStore(dir) };
}

// sha256("abc") from FIPS 180-2, appendix B.1.
const ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

test("bytes are stored under their sha256 and read back", async (t) => {
  const { dir, store } = await tempStore(t);
  const put = await store.put(Buffer.from("abc"));
  assert.deepEqual(put, { sha256: ABC, size: 3, deduplicated: false });
  assert.equal(await store.has(ABC), true);
  assert.equal(Buffer.from(await store.get(ABC)).toString(), "abc");
  assert.deepEqual(await readdir(join(dir, "sha256", "ba")), [ABC]);
});

test("identical uploads are stored once", async (t) => {
  const { dir, store } = await tempStore(t);
  await store.put(Buffer.from("abc"));
  const again = await store.put(Buffer.from("abc"));
  assert.equal(again.deduplicated, true);
  assert.deepEqual(await readdir(join(dir, "sha256", "ba")), [ABC]);
});

test("a corrupted artifact is detected on read and never served", async (t) => {
  const { dir, store } = await tempStore(t);
  await store.put(Buffer.from("abc"));
  await writeFile(join(dir, "sha256", "ba", ABC), "abd");
  await assert.rejects(store.get(ABC), (err: unknown) => err instanceof ArtifactCorruptedError && err.sha256 === ABC && err.actualSha256 !== ABC);
});

test("missing and malformed addresses are NOT_FOUND and INVALID_ARGUMENT", async (t) => {
  const { store } = await tempStore(t);
  assert.equal(await store.has(ABC), false);
  await assert.rejects(store.get(ABC), (err: unknown) => err instanceof RegistryError && err.code === "NOT_FOUND");
  await assert.rejects(store.get("../../etc/passwd"), (err: unknown) => err instanceof RegistryError && err.code === "INVALID_ARGUMENT");
});
