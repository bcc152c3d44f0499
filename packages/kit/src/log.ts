import { describeError } from "./errors.js";

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** The levels, for config schemas. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Structured fields attached to a log line. An `err` field is expanded with name, code, stack, cause. */
export type LogFields = Record<string, unknown>;

/** A structured JSON logger: one object per line with time, level, service, msg and fields. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line. */
  child(fields: LogFields): Logger;
  /** Whether a level would be written (to skip building expensive fields). */
  enabled(level: LogLevel): boolean;
}

/** Options of createLogger. */
export interface LoggerOptions {
  /** Service or component name, written as `service`. */
  name: string;
  /** Lowest level written. Default "info". */
  level?: LogLevel;
  /** Where lines go. Default: process.stdout. */
  write?: (line: string) => void;
  /** Fields on every line. Default none. */
  fields?: LogFields;
}

/** Creates a JSON-lines logger. */
export function createLogger(options: LoggerOptions): Logger {
  const min = SEVERITY[options.level ?? "info"];
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (SEVERITY[level] < min) return;
      const rec: LogFields = { time: new Date().toISOString(), level, service: options.name, msg, ...base };
      if (fields !== undefined) {
        for (const [k, v] of Object.entries(fields)) rec[k] = k === "err" ? describeError(v) : v;
      }
      write(`${safeStringify(rec)}\n`);
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (f) => make({ ...base, ...f }),
      enabled: (level) => SEVERITY[level] >= min,
    };
  };
  return make(options.fields ?? {});
}

/** A logger that writes nothing (tests, libraries used without a logger). */
export const silentLogger: Logger = createLogger({ name: "silent", level: "error", write: () => undefined });

function safeStringify(rec: LogFields): string {
  try {
    return JSON.stringify(rec, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  } catch {
    return JSON.stringify({ time: rec["time"], level: rec["level"], service: rec["service"], msg: rec["msg"], note: "fields not serialisable" });
  }
}
