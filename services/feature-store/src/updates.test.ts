import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { builtinRegistry } from "@loopline/features";
import { toFeatureValue } from "@loopline/proto";
import { FeatureUpdateSchema } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { createRecordChecker } from "./updates.js";

// The stream path's check, on records as protobuf-es writes them.
const record = (view: string, values: Record<string, number | string>, entity = "card") =>
  toBinary(
    FeatureUpdateSchema,
    create(FeatureUpdateSchema, { entity, entityId: "card-1", view, eventTimeMs: 1_000n, revision: 3n, producedAtMs: 7n, values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, toFeatureValue(v)])) }),
  );

test("a record of known features becomes a write that stores its bytes after the version", () => {
  const check = createRecordChecker(builtinRegistry);
  const bytes = record("card_txn", { last_country: "FR", txn_count_1h: 2 }); // not in view order
  const r = check(bytes, 0, 99);
  assert.ok(r.ok);
  assert.deepEqual([r.write.view, r.write.entityId, r.write.asOf, r.write.revision], ["card_txn", "card-1", 1_000, 3]);
  assert.deepEqual(r.write.value, Buffer.concat([Buffer.from("1000|3|7|"), Buffer.from(bytes)]));
});

test("unknown features, views and entities are named; bytes that are not a FeatureUpdate throw", () => {
  const check = createRecordChecker(builtinRegistry);
  const unknown = check(record("card_txn", { txn_count_1h: 1, ghost: 2 }), 0, 99);
  assert.deepEqual(unknown.ok ? undefined : unknown.problem, { code: "UNKNOWN_FEATURE", detail: 'values: view card_txn has no feature "ghost"' });
  const view = check(record("nope", { ghost: 2 }), 0, 99);
  assert.equal(view.ok ? undefined : view.problem.code, "UNKNOWN_VIEW");
  const entity = check(record("card_txn", { txn_count_1h: 1 }, "merchant"), 0, 99);
  assert.equal(entity.ok ? undefined : entity.problem.code, "ENTITY_MISMATCH");
  assert.throws(() => check(new Uint8Array([0x0a, 0xff]), 0, 99));
});
