import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { InputEncoding, ModelVersionSchema } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { monitoredVersion } from "./monitored-version.js";
import { profileBytes, referenceData } from "./test-data.test-helper.js";

const signature = {
  inputs: [
    { featureRef: "t:amount", encoding: InputEncoding.NUMBER },
    { featureRef: "t:country", encoding: InputEncoding.ONE_HOT, categories: ["FR", "US"] },
    { featureRef: "t:flag", encoding: InputEncoding.NUMBER },
    { featureRef: "t:amount", encoding: InputEncoding.NUMBER },
  ],
  threshold: 0.7,
};

test("signature features in order, kinds from the profile, the score column and the offline AUC", () => {
  const profile = profileBytes([{ name: "t:amount", kind: "numerical" }, { name: "t:country", kind: "categorical" }, { name: "score", kind: "numerical" }], referenceData(50));
  const v = monitoredVersion(create(ModelVersionSchema, { model: "m", version: "2", signature, referenceProfile: profile, metrics: { auc: 0.91 } }));
  assert.deepEqual(v.features.map((f) => [f.ref, f.kind, f.reference?.size ?? null]), [
    ["t:amount", "numerical", 50],
    ["t:country", "categorical", 50],
    ["t:flag", "numerical", null],
  ]);
  assert.equal(v.threshold, 0.7);
  assert.equal(v.scoreReference?.size, 50);
  assert.equal(v.profileProblem, "");
  assert.equal(v.referenceAuc, 0.91);
});

test("no profile, or one in another format: features keep kinds from their encoding and the problem is stated", () => {
  const none = monitoredVersion(create(ModelVersionSchema, { model: "m", version: "1", signature }));
  assert.equal(none.profileProblem, "the version has no reference profile");
  assert.deepEqual(none.features.map((f) => f.kind), ["numerical", "categorical", "numerical"]);
  assert.equal(none.scoreReference, undefined);
  assert.equal(none.referenceAuc, undefined);
  const other = monitoredVersion(create(ModelVersionSchema, { model: "m", version: "1", signature, referenceProfile: new TextEncoder().encode('{"features":{}}') }));
  assert.match(other.profileProblem, /not a @loopline\/drift profile/);
});
