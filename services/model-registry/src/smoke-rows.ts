import { InputEncoding, type ModelSignature, type SignatureInput } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { invalidArgument } from "./errors.js";

/** Rows for the smoke inference and where they came from. */
export interface SmokeRows {
  /** Row-major model inputs, one array of signatureColumns() numbers per row. */
  rows: number[][];
  /** "reference profile" when every input found representative values there, else what was used. */
  source: string;
}

/** Most rows a smoke inference uses. */
export const MAX_SMOKE_ROWS = 32;

type Representatives = { kind: "numbers"; values: number[] } | { kind: "categories"; values: string[] };

// The reference profile is JSON produced by packages/drift (or any trainer). This reader is
// deliberately tolerant: it looks for a per-feature entry under "features" (an object keyed by
// feature ref, or an array of objects with "name"/"feature"/"feature_ref") and takes from it
// histogram bin midpoints (edges + counts, bins with zero count skipped), quantiles, or
// min/mean/max for numbers, and category keys ("frequencies", "counts" or "categories") for
// categorical features. A feature it cannot read falls back to its default value.

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function finiteNumbers(value: unknown): number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const numbers = value.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return numbers.length === value.length && numbers.length > 0 ? numbers : undefined;
}

function featureEntries(profile: Record<string, unknown>): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const features = profile["features"] ?? profile["columns"];
  if (Array.isArray(features)) {
    for (const item of features) {
      const entry = record(item);
      const name = entry?.["feature_ref"] ?? entry?.["featureRef"] ?? entry?.["feature"] ?? entry?.["name"];
      if (entry !== undefined && typeof name === "string") out.set(name, entry);
    }
  } else {
    for (const [name, item] of Object.entries(record(features) ?? {})) {
      const entry = record(item);
      if (entry !== undefined) out.set(name, entry);
    }
  }
  return out;
}

function numericRepresentatives(entry: Record<string, unknown>): number[] | undefined {
  const histogram = record(entry["histogram"]) ?? entry;
  const edges = finiteNumbers(histogram["edges"] ?? histogram["bin_edges"] ?? histogram["binEdges"]);
  if (edges !== undefined && edges.length >= 2) {
    const counts = finiteNumbers(histogram["counts"]);
    const mids: number[] = [];
    for (let i = 0; i + 1 < edges.length; i++) {
      if (counts === undefined || (counts[i] ?? 0) > 0) mids.push(((edges[i] as number) + (edges[i + 1] as number)) / 2);
    }
    if (mids.length > 0) return mids;
  }
  const quantiles = entry["quantiles"];
  const q = finiteNumbers(quantiles) ?? finiteNumbers(Object.values(record(quantiles) ?? {}));
  if (q !== undefined) return q;
  const stats = ["min", "mean", "max"].map((k) => entry[k]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return stats.length > 0 ? stats : undefined;
}

function categoricalRepresentatives(entry: Record<string, unknown>): string[] | undefined {
  for (const key of ["frequencies", "counts", "categories"]) {
    const value = entry[key];
    if (Array.isArray(value)) {
      const names = value.filter((v): v is string => typeof v === "string");
      if (names.length > 0) return names;
    }
    const keys = Object.keys(record(value) ?? {});
    if (keys.length > 0) return keys;
  }
  return undefined;
}

function representatives(input: SignatureInput, entry: Record<string, unknown> | undefined): Representatives | undefined {
  if (entry === undefined) return undefined;
  if (input.encoding === InputEncoding.ONE_HOT) {
    const values = categoricalRepresentatives(entry);
    return values === undefined ? undefined : { kind: "categories", values };
  }
  const values = numericRepresentatives(entry);
  return values === undefined ? undefined : { kind: "numbers", values };
}

function encode(input: SignatureInput, value: number | string): number[] {
  if (input.encoding === InputEncoding.ONE_HOT) return input.categories.map((c) => (c === value ? 1 : 0));
  return [typeof value === "number" ? value : input.defaultValue];
}

/**
 * Smoke-test rows for a signature: representative values per feature from the reference profile,
 * cycled so every value appears, plus one row of defaults and one of zeros. Inputs the profile does not describe
 * use their default_value (ONE_HOT: all zeros, i.e. an unknown category); the source says so.
 */
export function smokeRows(signature: ModelSignature, referenceProfile: Uint8Array): SmokeRows {
  let entries = new Map<string, Record<string, unknown>>();
  let profileNote: string | undefined;
  if (referenceProfile.length === 0) profileNote = "no reference profile";
  else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(referenceProfile).toString("utf8"));
    } catch {
      throw invalidArgument("reference_profile", "is not valid JSON");
    }
    const profile = record(parsed);
    if (profile === undefined) throw invalidArgument("reference_profile", "must be a JSON object");
    entries = featureEntries(profile);
  }
  const reps = signature.inputs.map((input) => representatives(input, entries.get(input.featureRef)));
  const defaults = signature.inputs.flatMap((input) => encode(input, input.defaultValue));
  const count = Math.min(MAX_SMOKE_ROWS - 1, Math.max(0, ...reps.map((r) => r?.values.length ?? 0)));
  const rows: number[][] = [];
  for (let i = 0; i < count; i++) {
    rows.push(signature.inputs.flatMap((input, j) => {
      const r = reps[j];
      return r === undefined ? encode(input, input.defaultValue) : encode(input, r.values[i % r.values.length] as number | string);
    }));
  }
  rows.push(defaults);
  if (defaults.some((v) => v !== 0)) rows.push(defaults.map(() => 0));
  const missing = signature.inputs.filter((_, j) => reps[j] === undefined).map((input) => input.featureRef);
  let source: string;
  if (profileNote !== undefined) source = `defaults (${profileNote}: default_value per input, unknown category for ONE_HOT)`;
  else if (missing.length === signature.inputs.length) source = "defaults (the reference profile describes none of the inputs)";
  else if (missing.length > 0) source = `reference profile, defaults for ${missing.join(", ")}`;
  else source = "reference profile";
  return { rows, source };
}
