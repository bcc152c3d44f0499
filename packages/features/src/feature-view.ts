import { type Duration, parseDuration } from "./duration.js";
import { FeatureError } from "./errors.js";
import type { FieldValue } from "./event.js";

/** Type of a source-event field. */
export type FieldType = "number" | "string" | "boolean";

/** A field in a source schema: a bare type means required; `optional: true` allows it to be absent or null. */
export type FieldSpec = FieldType | { readonly type: FieldType; readonly optional?: boolean; readonly description?: string };

/** Aggregations a feature can compute over its window. */
export type Aggregation =
  | "count"
  | "sum"
  | "mean"
  | "min"
  | "max"
  | "stddev"
  | "stddev_sample"
  | "last"
  | "distinct_count";

/** A feature value as computed and served: `null` means "no value" (only ever a declared default). */
export type FeatureValue = FieldValue | null;

/** One feature of a view, as declared. */
export interface FeatureDefinition {
  /** Name, unique in the view: lower snake case. */
  readonly name: string;
  /** What to compute over the window. */
  readonly aggregation: Aggregation;
  /** Source field aggregated; required for every aggregation except `count` (which then counts events). */
  readonly field?: string;
  /** Sliding window length, e.g. "10m": the feature covers events with time in (asOf - window, asOf]. */
  readonly window: Duration;
  /** Source event types the feature reads. Default: every source type of the view. */
  readonly types?: readonly string[];
  /** Only events whose fields equal all these values contribute. Default: no filter. */
  readonly where?: Readonly<Record<string, FieldValue>>;
  /** Value when no event contributes. Default: 0 for count, sum and distinct_count, null otherwise. */
  readonly default?: FeatureValue;
  /** How long after `asOf` a served value stays valid. Default: the window (after it every counted event has expired). */
  readonly maxAge?: Duration;
  /** Free text for humans. */
  readonly description?: string;
}

/** A feature view as declared: the single definition stream, replay and training all load by name. */
export interface FeatureViewDefinition {
  /** Name, unique in a registry: lower snake case. */
  readonly name: string;
  /** Entity type the view is keyed by, e.g. "card". */
  readonly entity: string;
  /** Source event types and, for each, the schema its `fields` must satisfy. */
  readonly sources: Readonly<Record<string, Readonly<Record<string, FieldSpec>>>>;
  /** The features computed. */
  readonly features: readonly FeatureDefinition[];
  /** How far behind the entity's watermark an event may be and still count. Default: "5m". */
  readonly allowedLateness?: Duration;
  /** Free text for humans. */
  readonly description?: string;
}

/** A source field after compilation. */
export interface SourceField {
  /** Field name. */
  readonly name: string;
  /** Declared type. */
  readonly type: FieldType;
  /** Whether the field may be absent. */
  readonly optional: boolean;
}

/** A feature after compilation: durations in milliseconds and every default filled in. */
export interface Feature {
  /** Feature name. */
  readonly name: string;
  /** Aggregation computed. */
  readonly aggregation: Aggregation;
  /** Source field, or null for a `count` of events. */
  readonly field: string | null;
  /** Window length in milliseconds. */
  readonly windowMs: number;
  /** Source types read, sorted. */
  readonly types: readonly string[];
  /** Equality filter as sorted [field, value] pairs. */
  readonly where: readonly (readonly [string, FieldValue])[];
  /** Value served when nothing contributes or the value is older than `maxAgeMs`. */
  readonly defaultValue: FeatureValue;
  /** Validity of a served value after its `asOf`, in milliseconds. */
  readonly maxAgeMs: number;
  /** Type of the computed value. */
  readonly valueType: FieldType;
  /** Free text. */
  readonly description: string;
}

/** A compiled, immutable feature view. */
export interface FeatureView {
  /** View name. */
  readonly name: string;
  /** Entity type. */
  readonly entity: string;
  /** Free text. */
  readonly description: string;
  /** Source event types, sorted. */
  readonly sourceTypes: readonly string[];
  /** Schema per source type, fields sorted by name. */
  readonly sources: ReadonlyMap<string, readonly SourceField[]>;
  /** Features in declaration order (the order of every emitted `values` record). */
  readonly features: readonly Feature[];
  /** Allowed lateness in milliseconds. */
  readonly allowedLatenessMs: number;
  /** Longest window in milliseconds. */
  readonly maxWindowMs: number;
  /** How far behind the watermark state is retained: max(longest window, allowed lateness). */
  readonly retentionMs: number;
  /** Hash of everything that shapes engine state; snapshots from a different fingerprint are refused. */
  readonly fingerprint: string;
  /** The definition this view was compiled from. */
  readonly definition: FeatureViewDefinition;
  /** Looks a feature up by name. */
  feature(name: string): Feature | undefined;
}

const NAME = /^[a-z][a-z0-9_]{0,63}$/;
const NUMERIC: ReadonlySet<Aggregation> = new Set(["sum", "mean", "min", "max", "stddev", "stddev_sample"]);
const AGGREGATIONS: ReadonlySet<string> = new Set<Aggregation>([
  "count", "sum", "mean", "min", "max", "stddev", "stddev_sample", "last", "distinct_count",
]);
const DEFAULT_LATENESS = "5m";

function invalid(path: string, message: string): FeatureError {
  return new FeatureError("INVALID_DEFINITION", `${path}: ${message}`);
}

/** Throws FeatureError(INVALID_DEFINITION) unless `name` is lower snake case (letter first, at most 64 chars). */
export function assertName(name: unknown, path: string): asserts name is string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw invalid(path, `${JSON.stringify(name)} is not a name (lower snake case, letter first, at most 64 characters)`);
  }
}

function compileField(name: string, spec: FieldSpec, path: string): SourceField {
  const type = typeof spec === "string" ? spec : spec.type;
  if (type !== "number" && type !== "string" && type !== "boolean") throw invalid(path, `type must be number, string or boolean`);
  return { name, type, optional: typeof spec === "string" ? false : spec.optional === true };
}

function valueTypeOf(value: FieldValue): FieldType {
  return typeof value as FieldType;
}

function compileFeature(def: FeatureDefinition, index: number, sources: ReadonlyMap<string, readonly SourceField[]>, path: string): Feature {
  const at = `${path}.features[${index}]`;
  assertName(def.name, `${at}.name`);
  const here = `${path}.features.${def.name}`;
  if (!AGGREGATIONS.has(def.aggregation)) throw invalid(here, `unknown aggregation ${JSON.stringify(def.aggregation)}`);
  const windowMs = parseDuration(def.window, `${here}.window`);
  if (windowMs <= 0) throw invalid(`${here}.window`, "must be longer than 0");

  const types = [...(def.types ?? [...sources.keys()])].sort();
  if (types.length === 0) throw invalid(`${here}.types`, "must name at least one source type");
  const schemaOf = (type: string): readonly SourceField[] => {
    const schema = sources.get(type);
    if (schema === undefined) throw invalid(`${here}.types`, `${JSON.stringify(type)} is not a source type of the view`);
    return schema;
  };
  // A field a feature reads must mean the same thing in every source type it reads.
  const fieldIn = (name: string, what: string): SourceField => {
    let found: SourceField | undefined;
    for (const type of types) {
      const field = schemaOf(type).find((f) => f.name === name);
      if (field === undefined) throw invalid(what, `source type ${type} has no field ${JSON.stringify(name)}`);
      if (found !== undefined && found.type !== field.type) throw invalid(what, `field ${name} has different types across source types`);
      found = field;
    }
    if (found === undefined) throw invalid(what, `no source type declares ${JSON.stringify(name)}`);
    return found;
  };

  let field: SourceField | null = null;
  if (def.field === undefined) {
    if (def.aggregation !== "count") throw invalid(here, `aggregation ${def.aggregation} needs a field`);
    for (const type of types) schemaOf(type);
  } else {
    field = fieldIn(def.field, `${here}.field`);
    if (NUMERIC.has(def.aggregation) && field.type !== "number") {
      throw invalid(`${here}.field`, `${def.aggregation} needs a number field, ${field.name} is ${field.type}`);
    }
  }

  const where = Object.entries(def.where ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [name, value] of where) {
    const whereField = fieldIn(name, `${here}.where.${name}`);
    if (typeof value !== whereField.type) throw invalid(`${here}.where.${name}`, `value must be a ${whereField.type}`);
  }

  const valueType: FieldType = def.aggregation === "last" && field !== null ? field.type : "number";
  const naturalDefault = def.aggregation === "count" || def.aggregation === "sum" || def.aggregation === "distinct_count" ? 0 : null;
  const defaultValue = def.default === undefined ? naturalDefault : def.default;
  if (defaultValue !== null && valueTypeOf(defaultValue) !== valueType) throw invalid(`${here}.default`, `must be null or a ${valueType}`);
  if (typeof defaultValue === "number" && !Number.isFinite(defaultValue)) throw invalid(`${here}.default`, "must be finite");
  const maxAgeMs = def.maxAge === undefined ? windowMs : parseDuration(def.maxAge, `${here}.maxAge`);

  return {
    name: def.name,
    aggregation: def.aggregation,
    field: field === null ? null : field.name,
    windowMs,
    types,
    where,
    defaultValue,
    maxAgeMs,
    valueType,
    description: def.description ?? "",
  };
}

// FNV-1a over UTF-16 code units, two 32-bit lanes with different offsets: a stable, dependency-free
// fingerprint (not a security hash; it only has to notice that a definition changed).
function fingerprintOf(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/**
 * Validates a declaration and compiles it into an immutable `FeatureView`.
 * Throws FeatureError(INVALID_DEFINITION) with the path of the first problem.
 */
export function defineFeatureView(definition: FeatureViewDefinition): FeatureView {
  const path = `view ${JSON.stringify(definition.name)}`;
  assertName(definition.name, `${path}.name`);
  assertName(definition.entity, `${path}.entity`);

  const sources = new Map<string, readonly SourceField[]>();
  for (const type of Object.keys(definition.sources).sort()) {
    assertName(type, `${path}.sources`);
    const schema = definition.sources[type] ?? {};
    const fields = Object.keys(schema).sort().map((name) => {
      assertName(name, `${path}.sources.${type}`);
      return compileField(name, schema[name] as FieldSpec, `${path}.sources.${type}.${name}`);
    });
    sources.set(type, fields);
  }
  if (sources.size === 0) throw invalid(path, "declares no source event type");
  if (definition.features.length === 0) throw invalid(path, "declares no feature");

  const features = definition.features.map((def, i) => compileFeature(def, i, sources, path));
  const byName = new Map<string, Feature>();
  for (const feature of features) {
    if (byName.has(feature.name)) throw invalid(`${path}.features`, `duplicate feature ${feature.name}`);
    byName.set(feature.name, feature);
  }

  const allowedLatenessMs = parseDuration(definition.allowedLateness ?? DEFAULT_LATENESS, `${path}.allowedLateness`);
  const maxWindowMs = Math.max(...features.map((f) => f.windowMs));
  const retentionMs = Math.max(maxWindowMs, allowedLatenessMs);
  const fingerprint = fingerprintOf(
    JSON.stringify([definition.entity, [...sources], features.map((f) => [f.name, f.aggregation, f.field, f.windowMs, f.types, f.where]), allowedLatenessMs]),
  );

  return Object.freeze({
    name: definition.name,
    entity: definition.entity,
    description: definition.description ?? "",
    sourceTypes: [...sources.keys()],
    sources,
    features: Object.freeze(features.map((f) => Object.freeze(f))),
    allowedLatenessMs,
    maxWindowMs,
    retentionMs,
    fingerprint,
    definition,
    feature: (name: string) => byName.get(name),
  });
}
