import { create } from "@bufbuild/protobuf";
import { FeatureValueSchema, type FeatureValue } from "./gen/loopline/v1/values_pb.js";

/** A plain feature/field value as Loopline's pure code handles it. */
export type PlainValue = number | string | boolean | null;

/** Plain value → loopline.v1.FeatureValue (null → no kind set). Integers stay doubles: one numeric type end to end. */
export function toFeatureValue(value: PlainValue): FeatureValue {
  if (value === null) return create(FeatureValueSchema);
  switch (typeof value) {
    case "number":
      return create(FeatureValueSchema, { kind: { case: "number", value } });
    case "string":
      return create(FeatureValueSchema, { kind: { case: "text", value } });
    case "boolean":
      return create(FeatureValueSchema, { kind: { case: "flag", value } });
  }
}

/** loopline.v1.FeatureValue → plain value (int64 becomes a number; unset → null). */
export function fromFeatureValue(value: FeatureValue | undefined): PlainValue {
  const kind = value?.kind;
  switch (kind?.case) {
    case "number":
    case "text":
    case "flag":
      return kind.value;
    case "integer":
      return Number(kind.value);
    default:
      return null;
  }
}
