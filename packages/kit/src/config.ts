import { LooplineError } from "./errors.js";

/**
 * Environment configuration: every service declares one schema; `loadConfig` reads it from an env
 * object (never `process.env` implicitly), treats blank values as unset, applies defaults, and throws
 * a ConfigError naming each bad variable. Nothing else in a service reads the environment.
 */

/** A config problem: the message names every variable at fault. */
export class ConfigError extends LooplineError {
  override name = "ConfigError";
  /** Every problem found, one per variable. */
  readonly problems: readonly { variable: string; problem: string }[];

  constructor(problems: readonly { variable: string; problem: string }[]) {
    super(
      "CONFIG_INVALID",
      `invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.problem}`).join("\n")}`,
    );
    this.problems = problems;
  }
}

interface FieldBase<T> {
  /** Environment variable name. */
  env: string;
  /** One-line description, shown in errors and docs. */
  doc: string;
  /** Value when unset or blank; omit to make the variable required. */
  default?: T;
}

/** A string variable, optionally restricted by a pattern. */
export interface StringField extends FieldBase<string> {
  type: "string";
  /** When set, the value must match. */
  pattern?: RegExp;
}
/** An integer variable with optional bounds. */
export interface IntField extends FieldBase<number> {
  type: "int";
  min?: number;
  max?: number;
}
/** A finite number with optional bounds. */
export interface NumberField extends FieldBase<number> {
  type: "number";
  min?: number;
  max?: number;
}
/** A boolean: true/false/1/0/yes/no/on/off. */
export interface BoolField extends FieldBase<boolean> {
  type: "bool";
}
/** One of a fixed set of strings. */
export interface EnumField<V extends string = string> extends FieldBase<V> {
  type: "enum";
  values: readonly V[];
}
/** A comma-separated list of non-empty strings. */
export interface ListField extends FieldBase<readonly string[]> {
  type: "list";
}
/** A URL with one of the allowed protocols. */
export interface UrlField extends FieldBase<string> {
  type: "url";
  protocols: readonly string[];
}
/** A duration: a number with unit ms, s, m, h or d (e.g. "250ms", "10m"); value in milliseconds. */
export interface DurationField extends FieldBase<number> {
  type: "duration";
}

/** Any field of a config schema. */
export type ConfigField =
  | StringField
  | IntField
  | NumberField
  | BoolField
  | EnumField
  | ListField
  | UrlField
  | DurationField;

/** A config schema: property name to field. */
export type ConfigSchema = Record<string, ConfigField>;

type FieldValue<F extends ConfigField> = F extends EnumField<infer V>
  ? V
  : F extends IntField | NumberField | DurationField
    ? number
    : F extends BoolField
      ? boolean
      : F extends ListField
        ? readonly string[]
        : string;

/** The typed object a schema produces. */
export type ConfigOf<S extends ConfigSchema> = { readonly [K in keyof S]: FieldValue<S[K]> };

/** Declares a schema while keeping its literal types (for enum values). */
export function defineConfig<const S extends ConfigSchema>(schema: S): S {
  return schema;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "250ms", "5s", "10m", "1h", "7d" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (m === null) return undefined;
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

function parseField(field: ConfigField, raw: string): { value: unknown } | { problem: string } {
  switch (field.type) {
    case "string":
      if (field.pattern !== undefined && !field.pattern.test(raw)) {
        return { problem: `${JSON.stringify(raw)} does not match ${String(field.pattern)}` };
      }
      return { value: raw };
    case "int":
    case "number": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) return { problem: `${JSON.stringify(raw)} is not a number` };
      if (field.type === "int" && !Number.isInteger(n)) return { problem: `${JSON.stringify(raw)} is not an integer` };
      if (field.min !== undefined && n < field.min) return { problem: `${n} is below the minimum ${field.min}` };
      if (field.max !== undefined && n > field.max) return { problem: `${n} is above the maximum ${field.max}` };
      return { value: n };
    }
    case "bool": {
      const v = raw.trim().toLowerCase();
      if (["true", "1", "yes", "on"].includes(v)) return { value: true };
      if (["false", "0", "no", "off"].includes(v)) return { value: false };
      return { problem: `${JSON.stringify(raw)} is not a boolean (true/false)` };
    }
    case "enum":
      if (!field.values.includes(raw)) {
        return { problem: `${JSON.stringify(raw)} is not one of ${field.values.join(", ")}` };
      }
      return { value: raw };
    case "list": {
      const items = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
      if (items.length === 0) return { problem: "empty list" };
      return { value: items };
    }
    case "url": {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return { problem: `${JSON.stringify(raw)} is not a URL` };
      }
      const proto = url.protocol.replace(/:$/, "");
      if (!field.protocols.includes(proto)) {
        return { problem: `protocol ${proto} is not one of ${field.protocols.join(", ")}` };
      }
      return { value: raw };
    }
    case "duration": {
      const ms = parseDuration(raw);
      if (ms === undefined) return { problem: `${JSON.stringify(raw)} is not a duration like 250ms, 5s, 10m, 1h, 7d` };
      return { value: ms };
    }
  }
}

/** Reads a schema from an env object; blank counts as unset; throws ConfigError naming every bad variable. */
export function loadConfig<S extends ConfigSchema>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: { variable: string; problem: string }[] = [];
  for (const [key, field] of Object.entries(schema)) {
    const raw = env[field.env];
    if (raw === undefined || raw.trim() === "") {
      if (field.default === undefined) problems.push({ variable: field.env, problem: `required (${field.doc})` });
      else out[key] = field.default;
      continue;
    }
    const parsed = parseField(field, raw.trim());
    if ("problem" in parsed) problems.push({ variable: field.env, problem: parsed.problem });
    else out[key] = parsed.value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}

/** Formats milliseconds in the largest unit that divides them: 86400000 → "1d", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * A doc string as a Markdown table cell: `|` escaped everywhere (GitHub tables split on it, even
 * inside code spans) and `<` outside code spans (GitHub would take `<model>` for an HTML tag and drop it).
 */
export function markdownCell(text: string): string {
  return text
    .split("`")
    .map((part, i) => (i % 2 === 1 ? part.replaceAll("|", "\\|") : part.replaceAll("|", "\\|").replaceAll("<", "\\<")))
    .join("`");
}

/** Renders a schema as a Markdown table (variable, default, description) for the README. */
export function describeConfig(schema: ConfigSchema): string {
  const rows = Object.values(schema).map((f) => {
    const text =
      f.default === undefined
        ? "(required)"
        : f.type === "duration"
          ? formatDuration(f.default)
          : Array.isArray(f.default)
            ? f.default.join(",")
            : String(f.default);
    // The default sits in a code span, where only `|` needs escaping.
    return `| \`${f.env}\` | \`${(text === "" ? "(empty)" : text).replaceAll("|", "\\|")}\` | ${markdownCell(f.doc)} |`;
  });
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}
