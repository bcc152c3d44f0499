import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { ModelEventType, ModelSignatureSchema, Stage, VersionStatus } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import {
  decideDeleteAlias,
  decideRegistration,
  decideRollback,
  decideSetAlias,
  decideSetTags,
  decideTransition,
} from "./decisions.js";
import { RegistryError } from "./errors.js";
import { applyEvent, createRegistryState, invariantViolations, stampEvents, type EventDraft, type RegistryState } from "./registry-state.js";
import { listVersions } from "./queries.js";

const { CANDIDATE, SHADOW, CANARY, PRODUCTION, ARCHIVED } = Stage;
const STAGES = [CANDIDATE, SHADOW, CANARY, PRODUCTION, ARCHIVED];

function commit(state: RegistryState, drafts: readonly EventDraft[]): void {
  for (const event of stampEvents(drafts, state.lastSequence, BigInt(1_700_000_000_000 + state.events.length), "test")) applyEvent(state, event);
  assert.deepEqual(invariantViolations(state), []);
}

function register(state: RegistryState, model = "fraud", ok = true): string {
  const draft = decideRegistration(state, {
    model,
    description: "",
    signature: create(ModelSignatureSchema, { inputTensor: "x" }),
    lineage: undefined,
    metrics: {},
    referenceProfile: new Uint8Array(),
    tags: {},
    serving: undefined,
    artifactSha256: "ab".repeat(32),
    artifactSize: 10n,
    validation: ok ? { ok, reason: "", summary: "ok" } : { ok, reason: "outputs NaN", summary: "smoke inference" },
  });
  commit(state, [draft]);
  return draft.version;
}

function move(state: RegistryState, version: string, to: Stage, options: { model?: string; expected?: Stage; expectedProduction?: string } = {}): string {
  const model = options.model ?? "fraud";
  const current = state.models.get(model)?.versions.get(version)?.stage ?? Stage.UNSPECIFIED;
  const { drafts, previousProduction } = decideTransition(state, {
    model,
    version,
    toStage: to,
    expectedStage: options.expected ?? current,
    expectedProductionVersion: options.expectedProduction ?? "",
    reason: "test",
    evidenceJson: "",
  });
  commit(state, drafts);
  return previousProduction;
}

function stageOf(state: RegistryState, version: string, model = "fraud"): Stage | undefined {
  return state.models.get(model)?.versions.get(version)?.stage;
}

function rejects(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof RegistryError && err.code === code && (message === undefined || message.test(err.message)));
}

/** Puts a fresh version into `stage` by legal steps (production via promotion, archived via candidate). */
function versionIn(state: RegistryState, stage: Stage, ok = true): string {
  const v = register(state, "fraud", ok);
  if (stage !== CANDIDATE) move(state, v, stage);
  return v;
}

// The graph as the README documents it, written out independently of transitions.ts.
const ALLOWED: Record<number, Stage[]> = {
  [CANDIDATE]: [SHADOW, CANARY, PRODUCTION, ARCHIVED],
  [SHADOW]: [CANDIDATE, CANARY, PRODUCTION, ARCHIVED],
  [CANARY]: [CANDIDATE, SHADOW, PRODUCTION, ARCHIVED],
  [PRODUCTION]: [],
  [ARCHIVED]: [CANDIDATE, SHADOW, CANARY],
};

test("every (from, to) pair of a READY version follows the documented graph", () => {
  for (const from of STAGES) {
    for (const to of STAGES) {
      const state = createRegistryState();
      const v = versionIn(state, from);
      const allowed = ALLOWED[from]?.includes(to) ?? false;
      if (allowed) {
        move(state, v, to);
        assert.equal(stageOf(state, v), to, `${Stage[from]} → ${Stage[to]}`);
      } else {
        rejects(() => move(state, v, to), "FAILED_PRECONDITION");
        assert.equal(stageOf(state, v), from);
      }
    }
  }
});

test("a REJECTED version never reaches shadow, canary or production, from any stage it can be in", () => {
  for (const from of [CANDIDATE, ARCHIVED]) {
    for (const to of [SHADOW, CANARY, PRODUCTION]) {
      const state = createRegistryState();
      const v = versionIn(state, from, false);
      rejects(() => move(state, v, to), "FAILED_PRECONDITION", /REJECTED version can never reach .*rejected at registration: outputs NaN/);
    }
  }
  const state = createRegistryState();
  const v = register(state, "fraud", false);
  assert.equal(state.models.get("fraud")?.versions.get(v)?.status, VersionStatus.REJECTED);
  move(state, v, ARCHIVED); // retiring it is fine
  move(state, v, CANDIDATE);
  rejects(() => decideSetAlias(state, { model: "fraud", alias: "challenger", version: v }), "FAILED_PRECONDITION");
  rejects(() => decideRollback(state, { model: "fraud", toVersion: v, reason: "x", evidenceJson: "" }), "FAILED_PRECONDITION");
});

test("promoting to production archives the previous champion in the same change", () => {
  const state = createRegistryState();
  const v1 = versionIn(state, PRODUCTION);
  const v2 = versionIn(state, CANARY);
  const before = state.events.length;
  assert.equal(move(state, v2, PRODUCTION), v1);
  assert.equal(stageOf(state, v1), ARCHIVED);
  assert.equal(stageOf(state, v2), PRODUCTION);
  assert.equal(state.models.get("fraud")?.production, v2);
  const added = state.events.slice(before);
  assert.deepEqual(added.map((e) => [e.version, e.fromStage, e.toStage]), [[v1, PRODUCTION, ARCHIVED], [v2, CANARY, PRODUCTION]]);
  assert.match(added[0]?.reason ?? "", /replaced by version 2/);
});

test("the production version cannot be archived or demoted directly", () => {
  const state = createRegistryState();
  const v = versionIn(state, PRODUCTION);
  for (const to of [ARCHIVED, CANARY, SHADOW, CANDIDATE]) rejects(() => move(state, v, to), "FAILED_PRECONDITION", /cannot be moved directly/);
});

test("expected_stage must match: a stale caller gets FAILED_PRECONDITION and nothing changes", () => {
  const state = createRegistryState();
  const v = versionIn(state, SHADOW);
  rejects(() => move(state, v, PRODUCTION, { expected: CANARY }), "FAILED_PRECONDITION", /is in shadow, not canary/);
  assert.equal(stageOf(state, v), SHADOW);
  rejects(() => move(state, v, PRODUCTION, { expected: Stage.UNSPECIFIED }), "INVALID_ARGUMENT", /expected_stage/);
});

test("expected_production_version must match when promoting: the loser of a race gets ABORTED", () => {
  const state = createRegistryState();
  const v1 = versionIn(state, PRODUCTION);
  const v2 = versionIn(state, CANARY);
  const v3 = versionIn(state, CANARY);
  move(state, v2, PRODUCTION, { expectedProduction: v1 });
  rejects(() => move(state, v3, PRODUCTION, { expectedProduction: v1 }), "ABORTED", /production is version 2, not version 1/);
  assert.equal(stageOf(state, v3), CANARY);
});

test("rollback restores the previous champion in one call and archives the current one", () => {
  const state = createRegistryState();
  const v1 = versionIn(state, PRODUCTION);
  const v2 = versionIn(state, PRODUCTION);
  const before = state.events.length;
  const { drafts, rolledBack, target } = decideRollback(state, { model: "fraud", toVersion: "", reason: "auc dropped", evidenceJson: '{"auc":0.6}' });
  commit(state, drafts);
  assert.deepEqual([rolledBack, target], [v2, v1]);
  assert.equal(stageOf(state, v1), PRODUCTION);
  assert.equal(stageOf(state, v2), ARCHIVED);
  const added = state.events.slice(before);
  assert.deepEqual(added.map((e) => e.type), [ModelEventType.ROLLED_BACK, ModelEventType.ROLLED_BACK]);
  assert.ok(added.every((e) => e.reason === "auc dropped" && e.evidenceJson === '{"auc":0.6}'));
});

test("a version that was rolled back is not known-good: rolling back again goes further back", () => {
  const state = createRegistryState();
  const v1 = versionIn(state, PRODUCTION);
  const v2 = versionIn(state, PRODUCTION);
  const v3 = versionIn(state, PRODUCTION);
  commit(state, decideRollback(state, { model: "fraud", toVersion: "", reason: "r1", evidenceJson: "" }).drafts);
  assert.equal(state.models.get("fraud")?.production, v2);
  commit(state, decideRollback(state, { model: "fraud", toVersion: "", reason: "r2", evidenceJson: "" }).drafts);
  assert.equal(state.models.get("fraud")?.production, v1);
  assert.equal(stageOf(state, v3), ARCHIVED);
  rejects(() => decideRollback(state, { model: "fraud", toVersion: "", reason: "r3", evidenceJson: "" }), "FAILED_PRECONDITION", /no earlier known-good/);
  // A named target is always possible while it is READY.
  commit(state, decideRollback(state, { model: "fraud", toVersion: v3, reason: "r4", evidenceJson: "" }).drafts);
  assert.equal(state.models.get("fraud")?.production, v3);
});

test("rollback is refused without production, without a reason, to the current version or an unknown one", () => {
  const state = createRegistryState();
  versionIn(state, CANARY);
  rejects(() => decideRollback(state, { model: "fraud", toVersion: "", reason: "x", evidenceJson: "" }), "FAILED_PRECONDITION", /no production version/);
  const v2 = versionIn(state, PRODUCTION);
  rejects(() => decideRollback(state, { model: "fraud", toVersion: "", reason: " ", evidenceJson: "" }), "INVALID_ARGUMENT", /reason/);
  rejects(() => decideRollback(state, { model: "fraud", toVersion: v2, reason: "x", evidenceJson: "" }), "FAILED_PRECONDITION", /already in production/);
  rejects(() => decideRollback(state, { model: "fraud", toVersion: "9", reason: "x", evidenceJson: "" }), "NOT_FOUND");
  rejects(() => decideRollback(state, { model: "nope", toVersion: "", reason: "x", evidenceJson: "" }), "NOT_FOUND");
  rejects(() => decideRollback(state, { model: "fraud", toVersion: "1", reason: "x", evidenceJson: "{" }), "INVALID_ARGUMENT", /evidence_json/);
});

test("an alias points at one version: setting it elsewhere moves it; reserved names are refused", () => {
  const state = createRegistryState();
  const v1 = register(state);
  const v2 = register(state);
  commit(state, decideSetAlias(state, { model: "fraud", alias: "champion", version: v1 }));
  commit(state, decideSetAlias(state, { model: "fraud", alias: "champion", version: v2 }));
  assert.deepEqual(state.models.get("fraud")?.versions.get(v1)?.aliases, []);
  assert.deepEqual(state.models.get("fraud")?.versions.get(v2)?.aliases, ["champion"]);
  assert.deepEqual(decideSetAlias(state, { model: "fraud", alias: "champion", version: v2 }), []);
  for (const alias of ["production", "latest", "Bad Alias", ""]) rejects(() => decideSetAlias(state, { model: "fraud", alias, version: v1 }), "INVALID_ARGUMENT");
  commit(state, decideDeleteAlias(state, { model: "fraud", alias: "champion" }));
  assert.equal(state.models.get("fraud")?.aliases.size, 0);
  rejects(() => decideDeleteAlias(state, { model: "fraud", alias: "champion" }), "NOT_FOUND");
});

test("tags are set and removed; keys may not be empty", () => {
  const state = createRegistryState();
  const v = register(state);
  commit(state, decideSetTags(state, { model: "fraud", version: v, tags: { team: "risk", owner: "ana" }, remove: [] }));
  commit(state, decideSetTags(state, { model: "fraud", version: v, tags: { owner: "bo" }, remove: ["team"] }));
  assert.deepEqual(state.models.get("fraud")?.versions.get(v)?.tags, { owner: "bo" });
  rejects(() => decideSetTags(state, { model: "fraud", version: v, tags: { "": "x" }, remove: [] }), "INVALID_ARGUMENT");
});

test("model names that cannot form a record key are refused", () => {
  const state = createRegistryState();
  for (const model of ["", "a/b", "-x", "x y"]) assert.throws(() => register(state, model), RegistryError, model);
});

test("random operations keep every invariant, and every stage a version is in came from an event", () => {
  // Deterministic pseudo-random walk (mulberry32) over registrations, transitions with right and
  // wrong expectations, rollbacks and aliases on two models.
  let seed = 20250101;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const state = createRegistryState();
  let refused = 0;
  for (let step = 0; step < 3000; step++) {
    const model = pick(["fraud", "churn"]);
    const known = state.models.get(model);
    const versions = known === undefined ? [] : [...known.order];
    const op = versions.length === 0 ? 0 : Math.floor(rand() * 10);
    try {
      if (op === 0) register(state, model, rand() > 0.25);
      else if (op <= 6) {
        const v = pick(versions);
        const current = known?.versions.get(v)?.stage ?? CANDIDATE;
        move(state, v, pick(STAGES), { model, expected: rand() > 0.1 ? current : pick(STAGES) });
      } else if (op <= 8) commit(state, decideRollback(state, { model, toVersion: rand() > 0.5 ? "" : pick(versions), reason: "walk", evidenceJson: "" }).drafts);
      else commit(state, decideSetAlias(state, { model, alias: pick(["champion", "challenger"]), version: pick(versions) }));
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      refused++;
    }
    assert.deepEqual(invariantViolations(state), [], `after step ${step}`);
  }
  assert.ok(refused > 0 && state.events.length > 500, `walk too narrow: ${state.events.length} events, ${refused} refused`);
  // Every version's current state is the snapshot of the last event about it (every transition is in the history).
  for (const model of state.models.values()) {
    for (const v of model.versions.values()) {
      const last = state.events.findLast((e) => e.model === model.name && e.version === v.version);
      assert.equal(last?.snapshot?.stage, v.stage);
      assert.equal(last?.sequence, v.lastSequence);
    }
  }
  // Replaying the log into an empty state rebuilds the same registry; replaying it twice changes nothing.
  const replayed = createRegistryState();
  for (const e of [...state.events, ...state.events]) applyEvent(replayed, e);
  assert.equal(replayed.lastSequence, state.lastSequence);
  assert.deepEqual(replayed.models, state.models);
  // Sequences are gapless from 1.
  state.events.forEach((e, i) => assert.equal(e.sequence, BigInt(i + 1)));
});

test("versions list oldest first, filtered by stage, alias and tag, in pages", () => {
  const state = createRegistryState();
  for (let i = 0; i < 7; i++) register(state);
  move(state, "2", CANARY);
  move(state, "5", CANARY);
  commit(state, decideSetAlias(state, { model: "fraud", alias: "challenger", version: "5" }));
  commit(state, decideSetTags(state, { model: "fraud", version: "3", tags: { team: "risk" }, remove: [] }));
  commit(state, decideSetTags(state, { model: "fraud", version: "6", tags: { team: "ops" }, remove: [] }));
  const base = { model: "fraud", stage: Stage.UNSPECIFIED, alias: "", tag: "", pageSize: 0, pageToken: "" };
  const numbers = (q: Partial<typeof base>) => listVersions(state, { ...base, ...q }).versions.map((v) => v.version);
  assert.deepEqual(numbers({}), ["1", "2", "3", "4", "5", "6", "7"]);
  assert.deepEqual(numbers({ stage: CANARY }), ["2", "5"]);
  assert.deepEqual(numbers({ alias: "challenger" }), ["5"]);
  assert.deepEqual(numbers({ tag: "team" }), ["3", "6"]);
  assert.deepEqual(numbers({ tag: "team=ops" }), ["6"]);
  const pages: string[][] = [];
  let token = "";
  do {
    const page = listVersions(state, { ...base, pageSize: 3, pageToken: token });
    pages.push(page.versions.map((v) => v.version));
    token = page.nextPageToken;
  } while (token !== "");
  assert.deepEqual(pages, [["1", "2", "3"], ["4", "5", "6"], ["7"]]);
  rejects(() => listVersions(state, { ...base, pageToken: "garbage" }), "INVALID_ARGUMENT", /page_token/);
});
