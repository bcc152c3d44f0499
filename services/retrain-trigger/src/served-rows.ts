import { create } from "@bufbuild/protobuf";
import { FeatureStatus, FeatureValueSchema, type FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import type { LabelledExample, TrainingSet } from "@loopline/trainer";

/**
 * How a served feature value sits in the predictions table (infra/clickhouse/0001): per feature,
 * `feature_numbers[i]` holds numbers, integers and booleans (0/1), `feature_strings[i]` holds text
 * (empty for non-text values), `feature_statuses[i]` the FeatureStatus number. A status other than
 * PRESENT means the model saw its default, so the value is read as missing and the signature's
 * default is encoded again — the same column the model was served.
 */
export interface ServedRow {
  readonly request_id: string;
  readonly time_ms: string | number;
  readonly feature_refs: readonly string[];
  readonly feature_numbers: readonly (number | null)[];
  readonly feature_strings: readonly string[];
  readonly feature_statuses: readonly number[];
  readonly label: number;
}

const PRESENT_OR_UNSPECIFIED = new Set<number>([FeatureStatus.PRESENT, FeatureStatus.UNSPECIFIED]);

/** One stored value back as a FeatureValue (undefined = missing). */
export function servedValue(number: number | null | undefined, text: string | undefined, status: number): FeatureValue | undefined {
  if (!PRESENT_OR_UNSPECIFIED.has(status)) return undefined;
  if (text !== undefined && text !== "") return create(FeatureValueSchema, { kind: { case: "text", value: text } });
  if (number === null || number === undefined || !Number.isFinite(number)) return undefined;
  return create(FeatureValueSchema, { kind: { case: "number", value: number } });
}

/**
 * Builds a TrainingSet over `featureRefs` from joined prediction+label rows. Each row is read by ref
 * (rows logged by different versions may list features in another order); a row lacking a ref gets
 * it as missing (NOT_FOUND). Labels other than 0/1 are thresholded at 0.5.
 */
export function trainingSetFromServedRows(rows: readonly ServedRow[], featureRefs: readonly string[], query: string): TrainingSet {
  const examples: LabelledExample[] = rows.map((row) => {
    const index = new Map(row.feature_refs.map((ref, i) => [ref, i]));
    const values: (FeatureValue | undefined)[] = [];
    const statuses: FeatureStatus[] = [];
    for (const ref of featureRefs) {
      const i = index.get(ref);
      if (i === undefined) {
        values.push(undefined);
        statuses.push(FeatureStatus.NOT_FOUND);
        continue;
      }
      const status = (row.feature_statuses[i] ?? FeatureStatus.UNSPECIFIED) as FeatureStatus;
      values.push(servedValue(row.feature_numbers[i], row.feature_strings[i], status));
      statuses.push(status);
    }
    return { id: row.request_id, timeMs: Number(row.time_ms), values, statuses, label: row.label >= 0.5 ? 1 : 0 };
  });
  return { featureRefs: [...featureRefs], examples, query };
}
