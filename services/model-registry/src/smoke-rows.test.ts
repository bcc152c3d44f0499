import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { InputEncoding, ModelSignatureSchema } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { RegistryError } from "./errors.js";
import { smokeRows } from "./smoke-rows.js";

const signature = create(ModelSignatureSchema, {
  inputs: [
    { featureRef: "tx:amount", encoding: InputEncoding.NUMBER, defaultValue: 7 },
    { featureRef: "tx:country", encoding: InputEncoding.ONE_HOT, categories: ["FR", "US"] },
  ],
});
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

test("rows come from histogram midpoints (empty bins skipped) and category keys, then defaults and zeros", () => {
  const profile = {
    features: {
      "tx:amount": { histogram: { edges: [0, 10, 20, 40], counts: [5, 0, 2] } },
      "tx:country": { frequencies: { FR: 0.7, US: 0.2, DE: 0.1 } },
    },
  };
  const { rows, source } = smokeRows(signature, json(profile));
  // midpoints 5 and 30 (bin 10–20 is empty); FR, US, DE (unknown → zeros); defaults 7 + unknown; zeros.
  assert.deepEqual(rows, [[5, 1, 0], [30, 0, 1], [5, 0, 0], [7, 0, 0], [0, 0, 0]]);
  assert.equal(source, "reference profile");
});

test("an array of features, quantiles and min/mean/max are read too", () => {
  const profile = { features: [{ name: "tx:amount", quantiles: { "0.1": 1, "0.9": 9 } }, { feature_ref: "tx:country", categories: ["US"] }] };
  assert.deepEqual(smokeRows(signature, json(profile)).rows.slice(0, 2), [[1, 0, 1], [9, 0, 1]]);
  const stats = { features: { "tx:amount": { min: 2, mean: 3, max: 4 } } };
  const result = smokeRows(signature, json(stats));
  assert.deepEqual(result.rows.slice(0, 3), [[2, 0, 0], [3, 0, 0], [4, 0, 0]]);
  assert.equal(result.source, "reference profile, defaults for tx:country");
});

test("without a profile the rows are defaults and zeros, and the source says so", () => {
  const { rows, source } = smokeRows(signature, new Uint8Array());
  assert.deepEqual(rows, [[7, 0, 0], [0, 0, 0]]);
  assert.match(source, /^defaults \(no reference profile/);
  assert.match(smokeRows(signature, json({ rows: 3 })).source, /describes none of the inputs/);
});

test("a profile that is not a JSON object is INVALID_ARGUMENT", () => {
  for (const bad of [Buffer.from("{oops"), json([1, 2])]) {
    assert.throws(() => smokeRows(signature, bad), (err: unknown) => err instanceof RegistryError && /reference_profile/.test(err.message));
  }
});
