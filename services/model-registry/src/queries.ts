import { Stage, type ModelEvent, type ModelVersion } from "@loopline/proto/gen/loopline/v1/registry_pb.js";
import { invalidArgument, RegistryError } from "./errors.js";
import type { RegistryState } from "./registry-state.js";
import { requireModel } from "./decisions.js";

/** Default and largest page sizes of ListVersions. */
export const PAGE_SIZE = { default: 50, max: 1000 } as const;

/** Filters and paging of ListVersions. */
export interface VersionQuery {
  model: string;
  /** UNSPECIFIED = any stage. */
  stage: Stage;
  /** "" = any. */
  alias: string;
  /** "key" (has the tag) or "key=value"; "" = any. */
  tag: string;
  /** 0 = default (50); above 1000 is capped at 1000. */
  pageSize: number;
  /** From the previous page's next_page_token; "" = first page. */
  pageToken: string;
}

// Page tokens are the last version number returned, opaque to clients (base64url of "v1:<number>").
function encodeToken(after: number): string {
  return Buffer.from(`v1:${after}`).toString("base64url");
}

function decodeToken(token: string): number {
  const text = Buffer.from(token, "base64url").toString();
  const m = /^v1:(\d+)$/.exec(text);
  if (m === null) throw invalidArgument("page_token", "is not a token this registry issued");
  return Number(m[1]);
}

/** One page of a model's versions, oldest first, after the filters. */
export function listVersions(state: RegistryState, query: VersionQuery): { versions: ModelVersion[]; nextPageToken: string } {
  const model = requireModel(state, query.model);
  if (Stage[query.stage] === undefined) throw invalidArgument("stage", `${query.stage} is not a stage`);
  const size = query.pageSize === 0 ? PAGE_SIZE.default : Math.min(query.pageSize, PAGE_SIZE.max);
  const after = query.pageToken === "" ? 0 : decodeToken(query.pageToken);
  const eq = query.tag.indexOf("=");
  const tagKey = eq < 0 ? query.tag : query.tag.slice(0, eq);
  const tagValue = eq < 0 ? undefined : query.tag.slice(eq + 1);
  const matches = (v: ModelVersion) =>
    Number(v.version) > after &&
    (query.stage === Stage.UNSPECIFIED || v.stage === query.stage) &&
    (query.alias === "" || v.aliases.includes(query.alias)) &&
    (query.tag === "" || (Object.hasOwn(v.tags, tagKey) && (tagValue === undefined || v.tags[tagKey] === tagValue)));
  const versions: ModelVersion[] = [];
  let more = false;
  for (const number of model.order) {
    const v = model.versions.get(number);
    if (v === undefined || !matches(v)) continue;
    if (versions.length === size) {
      more = true;
      break;
    }
    versions.push(v);
  }
  const last = versions.at(-1);
  return { versions, nextPageToken: more && last !== undefined ? encodeToken(Number(last.version)) : "" };
}

/** Events of one model (and version), or of every model, oldest first. */
export function history(state: RegistryState, model: string, version: string): ModelEvent[] {
  if (model === "") {
    if (version !== "") throw invalidArgument("version", "needs a model");
    return [...state.events];
  }
  const known = requireModel(state, model);
  if (version !== "" && !known.versions.has(version)) throw new RegistryError("NOT_FOUND", `model ${model} has no version ${version}`);
  return state.events.filter((e) => e.model === model && (version === "" || e.version === version));
}
