import type { CommandIO } from "./commands.js";

/** A CommandIO for tests: the given environment, and what the command wrote to stdout and stderr. */
export function capture(env: Record<string, string> = {}): CommandIO & { stdout: () => string; stderr: () => string } {
  let stdout = "";
  let stderr = "";
  return { out: (t) => void (stdout += t), err: (t) => void (stderr += t), env, stdout: () => stdout, stderr: () => stderr };
}
