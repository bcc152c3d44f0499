import type { FeatureValue } from "@loopline/features";

/** One view's values for one entity as kept in Redis: the newest by (asOf, revision). */
export interface StoredUpdate {
  /** Epoch ms the values are as of. */
  asOf: number;
  /** Tie-break for equal asOf. */
  revision: number;
  /** When the producer made the update (epoch ms), for freshness. */
  producedAt: number;
  /** Values by feature name. */
  values: Record<string, FeatureValue>;
}

// Wire layout of a stored value: "<asOf>|<revision>|<producedAt>|<JSON values>". The numeric prefix
// lets the Lua script compare versions without decoding JSON (Redis' cjson is slow and lossy on
// large integers); the values stay readable with redis-cli.

/** Encodes a stored update as the Redis string value. */
export function encodeStored(u: StoredUpdate): string {
  return `${u.asOf}|${u.revision}|${u.producedAt}|${JSON.stringify(u.values)}`;
}

/** Decodes a Redis string value; undefined for a value that is not in the layout (never thrown on a read path). */
export function decodeStored(text: string | null | undefined): StoredUpdate | undefined {
  if (text === null || text === undefined) return undefined;
  const a = text.indexOf("|");
  const b = text.indexOf("|", a + 1);
  const c = text.indexOf("|", b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  const asOf = Number(text.slice(0, a));
  const revision = Number(text.slice(a + 1, b));
  const producedAt = Number(text.slice(b + 1, c));
  if (!Number.isFinite(asOf) || !Number.isFinite(revision)) return undefined;
  try {
    const values = JSON.parse(text.slice(c + 1)) as Record<string, FeatureValue>;
    return { asOf, revision, producedAt, values };
  } catch {
    return undefined;
  }
}

/** True when `a` is strictly newer than `b` by (asOf, revision). */
export function isNewer(a: Pick<StoredUpdate, "asOf" | "revision">, b: Pick<StoredUpdate, "asOf" | "revision"> | undefined): boolean {
  return b === undefined || a.asOf > b.asOf || (a.asOf === b.asOf && a.revision > b.revision);
}
