import assert from "node:assert/strict";
import { test } from "node:test";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { FeatureValueSchema } from "./gen/loopline/v1/values_pb.js";
import { fromFeatureValue, toFeatureValue } from "./feature-values.js";

test("plain values survive a round trip through the wire format", () => {
  for (const v of [0, -1.5, 1e300, "US", "", true, false, null]) {
    const wire = toBinary(FeatureValueSchema, toFeatureValue(v));
    assert.equal(fromFeatureValue(fromBinary(FeatureValueSchema, wire)), v);
  }
  assert.equal(toBinary(FeatureValueSchema, toFeatureValue(null)).length, 0, "null is an empty message");
});

test("int64 values from other producers read as numbers", () => {
  assert.equal(fromFeatureValue({ $typeName: "loopline.v1.FeatureValue", kind: { case: "integer", value: 42n } }), 42);
  assert.equal(fromFeatureValue(undefined), null);
});
