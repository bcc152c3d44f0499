import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { InputEncoding, MissingPolicy, ModelSignatureSchema, type ModelSignature } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { FeatureStatus, FeatureValueSchema, type FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { compileSignature, decide, SignatureError } from "./index.js";

const num = (value: number): FeatureValue => create(FeatureValueSchema, { kind: { case: "number", value } });
const int = (value: bigint): FeatureValue => create(FeatureValueSchema, { kind: { case: "integer", value } });
const text = (value: string): FeatureValue => create(FeatureValueSchema, { kind: { case: "text", value } });
const flag = (value: boolean): FeatureValue => create(FeatureValueSchema, { kind: { case: "flag", value } });
const nothing = (): FeatureValue => create(FeatureValueSchema);

// amount (NUMBER, default -1) | country (ONE_HOT fr, de, us) | is_new (NUMBER, default 0.5): 5 columns.
function fraudSignature(policy: MissingPolicy = MissingPolicy.DEFAULT): ModelSignature {
  return create(ModelSignatureSchema, {
    inputTensor: "x",
    inputs: [
      { featureRef: "txn:amount", encoding: InputEncoding.NUMBER, defaultValue: -1 },
      { featureRef: "card:country", encoding: InputEncoding.ONE_HOT, categories: ["fr", "de", "us"] },
      { featureRef: "is_new", encoding: InputEncoding.UNSPECIFIED, defaultValue: 0.5, requestTime: true },
    ],
    scoreOutput: "probability",
    scoreIndex: 1,
    threshold: 0.7,
    missingPolicy: policy,
  });
}

function encode(sig: ModelSignature, values: (FeatureValue | undefined)[], statuses?: FeatureStatus[], nonFinite?: "reject" | "missing" | "keep"): number[] {
  const encoder = compileSignature(sig, nonFinite === undefined ? {} : { nonFinite });
  const out = new Float32Array(encoder.columnCount + 2).fill(99);
  encoder.encodeRow(values, statuses, out, 1); // offset 1: the row must land where asked, nothing else touched
  return [...out];
}

test("layout: NUMBER takes one column, ONE_HOT one per category, in signature order", () => {
  const encoder = compileSignature(fraudSignature());
  assert.equal(encoder.columnCount, 5);
  assert.deepEqual(encoder.columnNames, ["txn:amount", "card:country=fr", "card:country=de", "card:country=us", "is_new"]);
  assert.deepEqual(encoder.featureRefs, ["txn:amount", "card:country", "is_new"]);
  assert.deepEqual(encoder.inputs.map((i) => [i.column, i.width]), [[0, 1], [1, 3], [4, 1]]);
});

test("encoding present values (table)", () => {
  const cases: { name: string; values: (FeatureValue | undefined)[]; row: number[] }[] = [
    { name: "number, known category, bool true", values: [num(12.5), text("de"), flag(true)], row: [12.5, 0, 1, 0, 1] },
    { name: "int64 value, unknown category is all zeros, bool false", values: [int(40n), text("br"), flag(false)], row: [40, 0, 0, 0, 0] },
    { name: "number category key printed", values: [num(3), num(7), num(2)], row: [3, 0, 0, 0, 2] },
  ];
  for (const c of cases) {
    assert.deepEqual(encode(fraudSignature(), c.values), [99, ...c.row, 99], c.name);
  }
});

test("missing values take defaults under the DEFAULT policy (one-hot missing = all zeros)", () => {
  const present = FeatureStatus.PRESENT;
  const cases: { name: string; values: (FeatureValue | undefined)[]; statuses?: FeatureStatus[]; row: number[] }[] = [
    { name: "absent", values: [undefined, undefined, undefined], row: [-1, 0, 0, 0, 0.5] },
    { name: "value without kind", values: [nothing(), nothing(), nothing()], row: [-1, 0, 0, 0, 0.5] },
    { name: "NOT_FOUND status wins over a stale value", values: [num(5), text("fr"), flag(true)], statuses: [FeatureStatus.NOT_FOUND, FeatureStatus.OUTSIDE_MAX_AGE, FeatureStatus.NULL_VALUE], row: [-1, 0, 0, 0, 0.5] },
    { name: "PRESENT keeps the value", values: [num(5), text("fr"), flag(true)], statuses: [present, present, present], row: [5, 1, 0, 0, 1] },
  ];
  for (const c of cases) {
    assert.deepEqual(encode(fraudSignature(MissingPolicy.UNSPECIFIED), c.values, c.statuses), [99, ...c.row, 99], c.name);
  }
});

test("missing values fail naming the feature under the FAIL policy", () => {
  const encoder = compileSignature(fraudSignature(MissingPolicy.FAIL));
  const out = new Float32Array(5);
  assert.throws(
    () => encoder.encodeRow([num(1), undefined, flag(true)], undefined, out, 0),
    (err: unknown) => err instanceof SignatureError && err.code === "MISSING_FEATURE" && err.feature === "card:country" && /card:country/.test(err.message),
  );
});

test("NaN and infinities follow the non-finite policy", () => {
  const sig = fraudSignature();
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    assert.throws(
      () => encode(sig, [num(bad), text("fr"), flag(true)]),
      (err: unknown) => err instanceof SignatureError && err.code === "NON_FINITE_VALUE" && err.feature === "txn:amount",
    );
    assert.deepEqual(encode(sig, [num(bad), text("fr"), flag(true)], undefined, "missing"), [99, -1, 1, 0, 0, 1, 99]);
  }
  assert.ok(Number.isNaN(encode(sig, [num(Number.NaN), text("fr"), flag(true)], undefined, "keep")[1]));
});

test("text into a NUMBER input is a type mismatch naming the feature", () => {
  assert.throws(
    () => encode(fraudSignature(), [text("12"), text("fr"), flag(true)]),
    (err: unknown) => err instanceof SignatureError && err.code === "TYPE_MISMATCH" && err.feature === "txn:amount",
  );
});

test("encodeDefaults writes what an entirely missing entity encodes to", () => {
  const encoder = compileSignature(fraudSignature());
  const out = new Float32Array(5).fill(7);
  encoder.encodeDefaults(out, 0);
  assert.deepEqual([...out], [-1, 0, 0, 0, 0.5]);
});

test("malformed signatures are refused naming the fault", () => {
  const cases: { name: string; patch: (s: ModelSignature) => void; message: RegExp }[] = [
    { name: "no input tensor", patch: (s) => (s.inputTensor = ""), message: /input_tensor/ },
    { name: "no inputs", patch: (s) => (s.inputs = []), message: /inputs is empty/ },
    { name: "one-hot without categories", patch: (s) => ((s.inputs[1] as { categories: string[] }).categories = []), message: /card:country has no categories/ },
    { name: "duplicate ref", patch: (s) => ((s.inputs[2] as { featureRef: string }).featureRef = "txn:amount"), message: /appears twice/ },
    { name: "no score output", patch: (s) => (s.scoreOutput = ""), message: /score_output/ },
  ];
  for (const c of cases) {
    const sig = fraudSignature();
    c.patch(sig);
    assert.throws(() => compileSignature(sig), (err: unknown) => err instanceof SignatureError && err.code === "INVALID_SIGNATURE" && c.message.test(err.message), c.name);
  }
});

test("decide: score from score_index, decision at score >= threshold", () => {
  const sig = fraudSignature();
  assert.deepEqual(decide(sig, [0.3, 0.7]), { score: 0.7, decision: true });
  assert.deepEqual(decide(sig, [0.31, 0.69]), { score: 0.69, decision: false });
});
