import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { test } from "node:test";

const run = promisify(execFile);
/** The repository's ./loopline, as a user runs it. */
const LOOPLINE = fileURLToPath(new URL("../../../loopline", import.meta.url));

test("./loopline help lists every command DESIGN.md names, and a usage mistake exits 2", async () => {
  const { stdout } = await run(LOOPLINE, ["help"], { encoding: "utf8" });
  for (const command of ["migrate", "models list", "models show", "models register", "models promote", "models rollback", "models history", "predict", "features", "drift", "replay", "train"]) {
    assert.match(stdout, new RegExp(`^  loopline ${command} `, "m"), command);
  }
  await assert.rejects(run(LOOPLINE, ["drift"], { encoding: "utf8" }), (err: { code?: number; stderr?: string }) => {
    assert.equal(err.code, 2);
    assert.equal(err.stderr, "loopline drift: MODEL is required\nusage: loopline drift MODEL [--version V] [--route production|canary|shadow] [--segment S] [--since DURATION] [--json]\n");
    return true;
  });
  await assert.rejects(run(LOOPLINE, ["retrain"], { encoding: "utf8" }), (err: { code?: number; stderr?: string }) => err.code === 2 && /unknown command "retrain"/.test(err.stderr ?? ""));
});
