// Synthetic model versions and predictions for the monitor's tests.
import { create } from "@bufbuild/protobuf";
import { buildReferenceProfile, profileToJson, type ColumnSpec } from "@loopline/drift";
import { Route } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import { InputEncoding, ModelVersionSchema } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import type { Prediction } from "./decode.js";
import { monitoredVersion, type MonitoredVersion } from "./monitored-version.js";

/** A seeded PRNG (LCG) with uniform and normal draws. */
export function rng(seed: number): { uniform(): number; normal(mean?: number, sd?: number): number; pick<T>(xs: readonly T[]): T } {
  let s = seed >>> 0;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return {
    uniform,
    normal: (mean = 0, sd = 1) => mean + sd * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()),
    pick: (xs) => xs[Math.floor(uniform() * xs.length)] as (typeof xs)[number],
  };
}

/** The fraud-like test model's features: t:amount (numerical), t:channel and t:country (categorical, one-hot). */
export const FEATURES = ["t:amount", "t:channel", "t:country"] as const;

/** Reference rows: amount ~ N(100, 20), channel pos/ecom, country FR/US, score ~ U(0, 1). */
export function referenceData(n: number, seed = 1): Record<string, unknown[]> {
  const r = rng(seed);
  const data: Record<string, unknown[]> = { "t:amount": [], "t:channel": [], "t:country": [], score: [] };
  for (let i = 0; i < n; i++) {
    data["t:amount"]!.push(r.normal(100, 20));
    data["t:channel"]!.push(r.pick(["pos", "ecom"]));
    data["t:country"]!.push(r.pick(["FR", "US"]));
    data["score"]!.push(r.uniform());
  }
  return data;
}

/** Profile JSON bytes as a registry version carries them. */
export function profileBytes(columns: readonly ColumnSpec[], data: Record<string, unknown[]>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(profileToJson(buildReferenceProfile(columns, data))));
}

/** The reference profile schema of the test model, with or without the score column. */
export function profileColumns(withScore = true): ColumnSpec[] {
  return [
    { name: "t:amount", kind: "numerical" },
    { name: "t:channel", kind: "categorical" },
    { name: "t:country", kind: "categorical" },
    ...(withScore ? [{ name: "score", kind: "numerical" as const }] : []),
  ];
}

/** A registry version of the test model turned into the monitored view. */
export function testVersion(options: { version?: string; profile?: Uint8Array; threshold?: number; auc?: number } = {}): MonitoredVersion {
  return monitoredVersion(
    create(ModelVersionSchema, {
      model: "fraud",
      version: options.version ?? "1",
      signature: {
        inputTensor: "features",
        inputs: [
          { featureRef: "t:amount", encoding: InputEncoding.NUMBER },
          { featureRef: "t:channel", encoding: InputEncoding.ONE_HOT, categories: ["pos", "ecom"] },
          { featureRef: "t:country", encoding: InputEncoding.ONE_HOT, categories: ["FR", "US"] },
        ],
        scoreOutput: "probability",
        scoreIndex: 1,
        threshold: options.threshold ?? 0.5,
      },
      referenceProfile: options.profile ?? profileBytes(profileColumns(), referenceData(600)),
      metrics: options.auc === undefined ? {} : { auc: options.auc },
    }),
  );
}

/** A prediction of the test model. */
export function prediction(init: Partial<Prediction> & { amount?: number | null; channel?: string | null; country?: string | null }): Prediction {
  return {
    requestId: init.requestId ?? "",
    timeMs: init.timeMs ?? 0,
    model: init.model ?? "fraud",
    modelVersion: init.modelVersion ?? "1",
    route: init.route ?? Route.PRODUCTION,
    entityId: init.entityId ?? "",
    features:
      init.features ??
      new Map<string, string | number | null>([
        ["t:amount", init.amount === undefined ? 100 : init.amount],
        ["t:channel", init.channel === undefined ? "pos" : init.channel],
        ["t:country", init.country === undefined ? "US" : init.country],
      ]),
    score: init.score ?? 0.5,
  };
}

/** A manual clock. */
export function manualClock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}
