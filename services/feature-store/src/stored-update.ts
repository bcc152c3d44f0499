import type { FeatureValue } from "@loopline/features";
import { decodeFeatureUpdate, encodeFeatureUpdate } from "@loopline/proto";

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

// Wire layout of a stored value: "<asOf>|<revision>|<producedAt>|" and then the loopline.v1.FeatureUpdate
// the values came in, as protobuf bytes: on the stream path, the record exactly as it was consumed from
// loopline.features, so storing an update never decodes or re-encodes its values. The numeric prefix
// lets the Lua script compare versions without parsing protobuf. Values written by earlier versions
// carry JSON after the prefix ("{...}"); they are still read.

const BAR = 0x7c; // "|"
const BRACE = 0x7b; // "{": JSON values; a FeatureUpdate never starts with it (field 15, wire type 3)

/** The stored value for a FeatureUpdate record (its protobuf bytes) as of (asOf, revision). */
export function storedValue(asOf: number, revision: number, producedAt: number, record: Uint8Array): Buffer {
  const prefix = `${asOf}|${revision}|${producedAt}|`;
  const out = Buffer.allocUnsafe(prefix.length + record.length);
  const n = out.write(prefix, 0, "latin1");
  out.set(record, n);
  return out;
}

/** Encodes a stored update (for writers that hold plain values: WriteFeatures, tests). */
export function encodeStored(u: StoredUpdate): Buffer {
  const record = encodeFeatureUpdate({ entity: "", entityId: "", view: "", asOf: u.asOf, revision: u.revision, values: u.values, producedAt: u.producedAt, sourceEventId: "" });
  return storedValue(u.asOf, u.revision, u.producedAt, record);
}

// The non-negative integer written in ASCII at raw[from, to); NaN when it is not one.
function asciiInteger(raw: Uint8Array, from: number, to: number): number {
  if (to <= from || to - from > 16) return Number.NaN;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = (raw[i] as number) - 0x30;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

/** Decodes a Redis value; undefined for a value that is not in the layout (never thrown on a read path). */
export function decodeStored(raw: Uint8Array | string | null | undefined): StoredUpdate | undefined {
  if (raw === null || raw === undefined) return undefined;
  const bytes = typeof raw === "string" ? Buffer.from(raw, "utf8") : raw;
  const a = bytes.indexOf(BAR);
  const b = a < 0 ? -1 : bytes.indexOf(BAR, a + 1);
  const c = b < 0 ? -1 : bytes.indexOf(BAR, b + 1);
  if (c < 0) return undefined;
  const asOf = asciiInteger(bytes, 0, a);
  const revision = asciiInteger(bytes, a + 1, b);
  const producedAt = asciiInteger(bytes, b + 1, c);
  if (!Number.isFinite(asOf) || !Number.isFinite(revision)) return undefined;
  try {
    const values =
      bytes[c + 1] === BRACE
        ? (JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + c + 1, bytes.length - c - 1).toString("utf8")) as Record<string, FeatureValue>)
        : decodeFeatureUpdate(bytes.subarray(c + 1)).values;
    return { asOf, revision, producedAt: Number.isFinite(producedAt) ? producedAt : 0, values };
  } catch {
    return undefined;
  }
}

/** True when `a` is strictly newer than `b` by (asOf, revision). */
export function isNewer(a: Pick<StoredUpdate, "asOf" | "revision">, b: Pick<StoredUpdate, "asOf" | "revision"> | undefined): boolean {
  return b === undefined || a.asOf > b.asOf || (a.asOf === b.asOf && a.revision > b.revision);
}
