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

/** Parses `--flag value`, `--flag=value` and bare `--flag` (true) after positional arguments. */
export function parseFlags(args: readonly string[]): { positional: string[]; flags: Map<string, string | true> } {
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
  return { positional, flags };
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
