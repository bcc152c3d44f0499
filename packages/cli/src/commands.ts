import { GrpcError, GrpcStatus } from "@loopline/proto";

/** A CLI command: its name, one-line summary, usage, and what it does with its arguments. */
export interface Command {
  /** Words that select it, e.g. ["migrate"] or ["models", "list"]. */
  path: readonly string[];
  /** One line for `loopline help`. */
  summary: string;
  /** Usage line(s) after the path. */
  usage: string;
  /** Runs the command; resolves with the exit code. */
  run(args: readonly string[], io: CommandIO): Promise<number>;
}

/** Where a command writes and reads its environment (tests pass their own). */
export interface CommandIO {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Parses `--flag value`, `--flag=value` and bare `--flag` (true) after positional arguments. With
 * `known`, any other flag is a UsageError naming it.
 */
export function parseFlags(args: readonly string[], known?: readonly string[]): { positional: string[]; flags: Map<string, string | true> } {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < args.length && !(args[i + 1] as string).startsWith("--")) flags.set(a.slice(2), args[++i] as string);
    else flags.set(a.slice(2), true);
  }
  if (known !== undefined) {
    for (const name of flags.keys()) if (!known.includes(name)) throw new UsageError(`unknown flag --${name}`);
  }
  return { positional, flags };
}

/** The flags a usage line names (`--json`, `--to` in "MODEL [--to VERSION] [--json]"). */
export function usageFlags(usage: string): string[] {
  return [...usage.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1] as string);
}

/** Finds the command whose path is the longest prefix of argv. */
export function findCommand(commands: readonly Command[], argv: readonly string[]): { command: Command; rest: string[] } | undefined {
  let best: { command: Command; rest: string[] } | undefined;
  for (const c of commands) {
    if (c.path.every((w, i) => argv[i] === w) && (best === undefined || c.path.length > best.command.path.length)) {
      best = { command: c, rest: argv.slice(c.path.length) };
    }
  }
  return best;
}

/** Renders rows as an aligned text table. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** A usage or input mistake: printed as one line with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A flag's value; undefined when absent, a UsageError when given without a value. */
export function stringFlag(flags: Map<string, string | true>, name: string): string | undefined {
  const value = flags.get(name);
  if (value === true) throw new UsageError(`--${name} needs a value`);
  return value;
}

/**
 * Whether a switch (a flag without a value) is given; a UsageError when it was given one, as
 * `--json fraud` parses: the hint says why (default: the value it got).
 */
export function switchFlag(flags: Map<string, string | true>, name: string, hint?: string): boolean {
  const value = flags.get(name);
  if (value !== undefined && value !== true) throw new UsageError(`--${name} takes no value (${hint ?? `got "${value}"`})`);
  return value === true;
}

/** A flag's value, or a UsageError saying it is required. */
export function requireFlag(flags: Map<string, string | true>, name: string): string {
  const value = stringFlag(flags, name);
  if (value === undefined || value.trim() === "") throw new UsageError(`--${name} is required`);
  return value;
}

/** Writes text as whole lines. */
export const out = (io: CommandIO, text: string): void => io.out(text.endsWith("\n") ? text : `${text}\n`);

/** The server a command talks to, named in its message when the server cannot be reached. */
export interface Endpoint {
  /** e.g. "registry". */
  what: string;
  /** host:port, when known. */
  address: string | undefined;
  /** The variable that sets it. */
  variable: string;
}

/**
 * Turns a command's failure into one line on stderr and its exit code: 2 for a UsageError (with
 * the usage), 1 for a gRPC error (naming the endpoint when it could not be reached). Anything else
 * is rethrown (main prints it).
 */
export function reportFailure(io: CommandIO, path: readonly string[], usage: string, err: unknown, endpoint?: Endpoint): number {
  const prefix = `loopline ${path.join(" ")}`;
  if (err instanceof UsageError) {
    io.err(`${prefix}: ${err.message}\nusage: ${prefix} ${usage}\n`);
    return 2;
  }
  if (err instanceof GrpcError) {
    const unreachable = err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.DEADLINE_EXCEEDED;
    const where = unreachable && endpoint !== undefined ? ` (${endpoint.what} at ${endpoint.address ?? "?"}, ${endpoint.variable})` : "";
    // grpc-js ends a connection failure's message with an empty "Resolution note: ".
    const message = (err.message.split("\n")[0] ?? "").replace(/\s*Resolution note:\s*$/, "");
    io.err(`${prefix}: ${err.codeName}: ${message}${where}\n`);
    return 1;
  }
  throw err;
}

/** Parses "k=v,k2=v2" into a record; values converted by `convert`. */
export function parsePairs<T>(text: string, flag: string, convert: (value: string, key: string) => T): Record<string, T> {
  const pairs: Record<string, T> = {};
  for (const pair of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${flag}: "${pair}" is not key=value`);
    pairs[pair.slice(0, eq).trim()] = convert(pair.slice(eq + 1).trim(), pair.slice(0, eq).trim());
  }
  return pairs;
}
