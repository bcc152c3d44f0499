import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createCurrentWindow } from "./current-window.js";
import { assertClose, columnCases, fixtureValue, loadFixture, type ColumnCase, type FixtureNumber } from "./fixtures.test-helper.js";
import type { DriftMethod } from "./methods.js";
import { buildReferenceProfile, profileFromJson, profileToJson } from "./profile.js";
import { computeDriftReport } from "./report.js";

function singleColumn(c: ColumnCase, overrideMethod?: DriftMethod) {
  const schema = [{ name: "x", kind: c.kind }] as const;
  // The profile goes through its JSON form, as it would between training and serving.
  const built = buildReferenceProfile(schema, { x: c.reference.map((v) => fixtureValue(v, c.kind)) });
  const profile = profileFromJson(JSON.parse(JSON.stringify(profileToJson(built))));
  const window = createCurrentWindow(profile, { initialCapacity: 8 });
  for (const v of c.current) window.add({ x: fixtureValue(v, c.kind) });
  const options = overrideMethod === undefined ? {} : { columns: { x: { method: overrideMethod } } };
  return computeDriftReport(profile, window, options).columns[0]!;
}

describe("computeDriftReport, one column", () => {
  for (const c of columnCases()) {
    it(`${c.name}: same method, score and decision as Evidently's ColumnDriftMetric`, () => {
      const r = singleColumn(c);
      if ("error" in c.evidently) {
        assert.equal(r.status, c.expected_status);
        assert.equal(r.drifted, false);
        assert.equal(r.method, null);
        return;
      }
      assert.equal(r.status, "tested");
      assert.equal(r.method, c.evidently.method);
      assertClose(r.score!, c.evidently.score, `${c.name} score`);
      assert.equal(r.threshold, c.evidently.threshold);
      assert.equal(r.drifted, c.evidently.drifted);
      if (r.method === "ks") assertClose(r.statistic!, c.scipy!.ks_statistic!, `${c.name} KS statistic`);
    });
  }

  it("every other method, chosen explicitly, equals Evidently's stattest", () => {
    let checked = 0;
    for (const c of columnCases()) {
      for (const [method, expected] of Object.entries(c.stattests ?? {}) as Array<[DriftMethod, { score: FixtureNumber; drifted: boolean }]>) {
        const r = singleColumn(c, method);
        assertClose(r.score!, expected.score, `${c.name} ${method}`);
        assert.equal(r.drifted, expected.drifted, `${c.name} ${method} drifted`);
        checked++;
      }
    }
    assert.ok(checked > 250, `only ${checked} checked`);
  });

  it("reports the missing shares and notes", () => {
    const c = columnCases().find((x) => x.name === "num-nan-inf")!;
    const r = singleColumn(c);
    const missing = (vs: ColumnCase["reference"]) => vs.filter((v) => typeof v !== "number").length / vs.length;
    assert.equal(r.nanShareRef, missing(c.reference));
    assert.equal(r.nanShareCur, missing(c.current));
    assert.equal(r.nanShareDelta, r.nanShareCur - r.nanShareRef);
    const constant = singleColumn(columnCases().find((x) => x.name === "num-constant-same")!);
    assert.deepEqual(constant.notes, ["constant-reference", "constant-current"]);
    const fresh = singleColumn(columnCases().find((x) => x.name === "cat-new-in-current")!);
    assert.ok(fresh.notes.includes("new-categories"));
  });
});

interface DatasetCase {
  readonly name: string;
  readonly columns: Array<{ name: string; kind: "numerical" | "categorical"; reference: Array<number | string | null>; current: Array<number | string | null> }>;
  readonly evidently: {
    number_of_columns: number;
    number_of_drifted_columns: number;
    share_of_drifted_columns: number;
    dataset_drift: boolean;
    columns: Record<string, { method: DriftMethod; score: FixtureNumber; drifted: boolean }>;
  };
}

describe("computeDriftReport, dataset", () => {
  for (const d of loadFixture<{ cases: DatasetCase[] }>("datasets.json").cases) {
    it(`${d.name}: drift share and dataset drift equal Evidently's DatasetDriftMetric`, () => {
      const schema = d.columns.map((c) => ({ name: c.name, kind: c.kind }));
      const profile = buildReferenceProfile(
        schema,
        Object.fromEntries(d.columns.map((c) => [c.name, c.reference.map((v) => fixtureValue(v, c.kind))])),
      );
      const window = createCurrentWindow(schema);
      const rows = d.columns[0]!.current.length;
      for (let i = 0; i < rows; i++) {
        window.add(Object.fromEntries(d.columns.map((c) => [c.name, fixtureValue(c.current[i]!, c.kind)])));
      }
      const report = computeDriftReport(profile, window);
      assert.equal(report.dataset.columns, d.evidently.number_of_columns);
      assert.equal(report.dataset.driftedColumns, d.evidently.number_of_drifted_columns);
      assert.equal(report.dataset.share, d.evidently.share_of_drifted_columns);
      assert.equal(report.dataset.datasetDrift, d.evidently.dataset_drift);
      for (const col of report.columns) {
        const e = d.evidently.columns[col.column]!;
        assert.equal(col.method, e.method);
        assertClose(col.score!, e.score, `${d.name}.${col.column}`);
        assert.equal(col.drifted, e.drifted);
      }
    });
  }

  it("does not count untested (empty) columns in the share", () => {
    const schema = [
      { name: "a", kind: "numerical" },
      { name: "b", kind: "numerical" },
    ] as const;
    const profile = buildReferenceProfile(schema, { a: [1, 2, 3, 4, 5, 6, 7], b: [1, 2, 3] });
    const window = createCurrentWindow(schema);
    for (const a of [30, 31, 32, 33, 34, 35, 36]) window.add({ a });
    const report = computeDriftReport(profile, window);
    assert.equal(report.columns[1]!.status, "empty-current");
    assert.deepEqual(report.dataset, { columns: 1, driftedColumns: 1, share: 1, driftShare: 0.5, datasetDrift: true });
  });
});
