import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "./log.js";

test("JSON lines with level filtering, child fields and expanded errors", () => {
  const lines: string[] = [];
  const log = createLogger({ name: "svc", level: "info", write: (l) => lines.push(l) });
  log.debug("hidden");
  log.child({ topic: "t" }).warn("retrying", { attempt: 2, err: new Error("boom", { cause: new Error("root") }) });
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0] as string) as Record<string, unknown>;
  assert.equal(rec["level"], "warn");
  assert.equal(rec["service"], "svc");
  assert.equal(rec["msg"], "retrying");
  assert.equal(rec["topic"], "t");
  assert.equal(rec["attempt"], 2);
  assert.deepEqual({ message: (rec["err"] as Record<string, unknown>)["message"], cause: (rec["err"] as Record<string, unknown>)["cause"] }, { message: "boom", cause: "root" });
  assert.ok(lines[0]?.endsWith("\n"));
});

test("bigint fields are written as strings", () => {
  const lines: string[] = [];
  createLogger({ name: "svc", write: (l) => lines.push(l) }).info("offset", { offset: 2n ** 63n });
  assert.equal((JSON.parse(lines[0] as string) as Record<string, unknown>)["offset"], "9223372036854775808");
});
