import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { PlainValue } from "./feature-values.js";

/**
 * A hand-written codec for loopline.v1.FeatureUpdate, the one message that crosses Kafka once per
 * event. protobuf-es' reflective toBinary/fromBinary cost ~20 µs for a 26-feature update; this
 * writes and reads the same wire format directly. Tests pin it byte-for-byte to toBinary and check
 * fromBinary reads what it writes, so any producer or consumer of the schema stays compatible.
 */
// Hot path: guarded by bench/features.bench.ts (ingest events/s, freshness).

/** A FeatureUpdate in plain form (numbers instead of bigint, plain values instead of messages). */
export interface PlainFeatureUpdate {
  entity: string;
  entityId: string;
  view: string;
  /** event_time_ms: the as-of time. */
  asOf: number;
  revision: number;
  values: Record<string, PlainValue>;
  producedAt: number;
  sourceEventId: string;
}

// Field numbers of loopline.v1.FeatureUpdate and FeatureValue (proto/loopline/v1/*.proto).
const F_ENTITY = 1, F_ENTITY_ID = 2, F_VIEW = 3, F_EVENT_TIME = 4, F_REVISION = 5, F_VALUES = 6, F_PRODUCED_AT = 7, F_SOURCE_EVENT = 8;
const V_NUMBER = 1, V_TEXT = 2, V_FLAG = 3, V_INTEGER = 4;

/** Encodes exactly as toBinary(FeatureUpdateSchema, ...) would (proto3 defaults omitted, map entries in insertion order). */
// Hot path: guarded by bench/features.bench.ts (ingest events/s). One call per published update:
// writes straight into a shared slab (no per-field forks, no per-message buffer growth) and returns
// a view of the bytes written. The slab is append-only, so a returned view is never overwritten.
export function encodeFeatureUpdate(u: PlainFeatureUpdate): Uint8Array {
  // int64/uint64 fields outside 0..2^53 (never produced by Loopline, but legal) take the general writer.
  if (!isVarint53(u.asOf) || !isVarint53(u.revision) || !isVarint53(u.producedAt)) return encodeWithWriter(u);
  start = pos;
  if (u.entity !== "") stringField(F_ENTITY, u.entity);
  if (u.entityId !== "") stringField(F_ENTITY_ID, u.entityId);
  if (u.view !== "") stringField(F_VIEW, u.view);
  if (u.asOf !== 0) varintField(F_EVENT_TIME, u.asOf);
  if (u.revision !== 0) varintField(F_REVISION, u.revision);
  const values = u.values;
  for (const name in values) {
    const v = values[name] as PlainValue;
    ensure(2);
    buf[pos++] = (F_VALUES << 3) | WireType.LengthDelimited;
    const entry = fork();
    stringField(1, name);
    ensure(2);
    buf[pos++] = (2 << 3) | WireType.LengthDelimited;
    if (typeof v === "number") {
      ensure(10);
      buf[pos++] = 9; // the FeatureValue: tag + 8 bytes
      buf[pos++] = (V_NUMBER << 3) | WireType.Bit64;
      view.setFloat64(pos, v, true);
      pos += 8;
    } else if (typeof v === "string") {
      const value = fork();
      stringField(V_TEXT, v);
      join(value);
    } else if (typeof v === "boolean") {
      ensure(3);
      buf[pos++] = 2;
      buf[pos++] = (V_FLAG << 3) | WireType.Varint;
      buf[pos++] = v ? 1 : 0;
    } else {
      buf[pos++] = 0; // null: a FeatureValue with no kind
    }
    join(entry);
  }
  if (u.producedAt !== 0) varintField(F_PRODUCED_AT, u.producedAt);
  if (u.sourceEventId !== "") stringField(F_SOURCE_EVENT, u.sourceEventId);
  return buf.subarray(start, pos);
}

// The slab the fast encoder writes into: [start, pos) is the message in progress, bytes before
// `start` belong to views already returned.
const SLAB_BYTES = 256 * 1024;
let buf = new Uint8Array(SLAB_BYTES);
let view = new DataView(buf.buffer);
let pos = 0;
let start = 0;
const utf8 = new TextEncoder();

const isVarint53 = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

// Makes room for n more bytes, moving the message in progress to a fresh slab when needed.
function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  const written = pos - start;
  const next = new Uint8Array(Math.max(SLAB_BYTES, 2 * (written + n)));
  next.set(buf.subarray(start, pos));
  buf = next;
  view = new DataView(next.buffer);
  start = 0;
  pos = written;
}

function varint(n: number): void {
  ensure(8);
  while (n > 0x7f) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
}

function varintField(field: number, n: number): void {
  ensure(1);
  buf[pos++] = (field << 3) | WireType.Varint;
  varint(n);
}

const varintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

function stringField(field: number, s: string): void {
  const n = s.length;
  ensure(n * 3 + 6);
  buf[pos++] = (field << 3) | WireType.LengthDelimited;
  if (n < 0x80) {
    // ASCII fast path: one length byte, one byte per character.
    let p = pos + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      buf[p++] = c;
    }
    if (i === n) {
      buf[pos] = n;
      pos = p;
      return;
    }
  }
  // Anything else through TextEncoder, as protobuf-es does (lone surrogates become U+FFFD).
  const guess = varintSize(n);
  const { written } = utf8.encodeInto(s, buf.subarray(pos + guess));
  const size = varintSize(written);
  if (size !== guess) buf.copyWithin(pos + size, pos + guess, pos + guess + written);
  let n2 = written; // room for it was ensured above: no ensure() here, it could move the slab
  while (n2 > 0x7f) {
    buf[pos++] = (n2 & 0x7f) | 0x80;
    n2 >>>= 7;
  }
  buf[pos++] = n2;
  pos += written;
}

// Reserves one length byte for a nested message; returns its offset from the message start (the
// slab may move while the nested message is written).
function fork(): number {
  ensure(1);
  return pos++ - start;
}

// Writes the nested message's length, widening the reserved byte when the message is 128+ bytes.
function join(mark: number): void {
  let at = start + mark;
  const length = pos - at - 1;
  if (length < 0x80) {
    buf[at] = length;
    return;
  }
  const size = varintSize(length);
  ensure(size - 1);
  at = start + mark;
  buf.copyWithin(at + size, at + 1, pos);
  pos += size - 1;
  let n = length;
  while (n > 0x7f) {
    buf[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[at] = n;
}

/** The general (slower) encoder, for int64 values outside what the fast path writes. */
function encodeWithWriter(u: PlainFeatureUpdate): Uint8Array {
  const w = new BinaryWriter();
  if (u.entity !== "") w.tag(F_ENTITY, WireType.LengthDelimited).string(u.entity);
  if (u.entityId !== "") w.tag(F_ENTITY_ID, WireType.LengthDelimited).string(u.entityId);
  if (u.view !== "") w.tag(F_VIEW, WireType.LengthDelimited).string(u.view);
  if (u.asOf !== 0) w.tag(F_EVENT_TIME, WireType.Varint).int64(u.asOf);
  if (u.revision !== 0) w.tag(F_REVISION, WireType.Varint).uint64(u.revision);
  for (const name in u.values) {
    const v = u.values[name] as PlainValue;
    w.tag(F_VALUES, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(name);
    w.tag(2, WireType.LengthDelimited).fork();
    if (typeof v === "number") w.tag(V_NUMBER, WireType.Bit64).double(v);
    else if (typeof v === "string") w.tag(V_TEXT, WireType.LengthDelimited).string(v);
    else if (typeof v === "boolean") w.tag(V_FLAG, WireType.Varint).bool(v);
    w.join();
    w.join();
  }
  if (u.producedAt !== 0) w.tag(F_PRODUCED_AT, WireType.Varint).int64(u.producedAt);
  if (u.sourceEventId !== "") w.tag(F_SOURCE_EVENT, WireType.LengthDelimited).string(u.sourceEventId);
  return w.finish();
}

/** Decodes a FeatureUpdate; throws on malformed bytes (as fromBinary does). Unknown fields are skipped. */
// Hot path: guarded by bench/features.bench.ts (GetOnlineFeatures: every stored version read is one)
// and bench/sink.bench.ts.
export function decodeFeatureUpdate(bytes: Uint8Array): PlainFeatureUpdate {
  const u: PlainFeatureUpdate = { entity: "", entityId: "", view: "", asOf: 0, revision: 0, values: {}, producedAt: 0, sourceEventId: "" };
  walkFeatureUpdate(bytes, u, u.values);
  return u;
}

// Value keys (feature names) by entry position, as last decoded: every update of a view names the same
// features in the same order, so a key is usually the cached string (a short byte comparison) rather
// than a new string, which V8 would also have to internalise to use as a property name.
const KEY_CACHE = 64;
const cachedKeyBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(KEY_CACHE);
const cachedKeys: string[] = new Array<string>(KEY_CACHE);

function valueKey(entry: number, start: number, end: number): string {
  const cached = entry < KEY_CACHE ? cachedKeyBytes[entry] : undefined;
  if (cached !== undefined && cached.length === end - start) {
    let same = true;
    for (let i = 0; i < cached.length; i++) {
      if (cached[i] !== sBytes[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cachedKeys[entry] as string;
  }
  const key = utf8Text(sBytes, start, end);
  if (entry < KEY_CACHE) {
    cachedKeyBytes[entry] = sBytes.slice(start, end);
    cachedKeys[entry] = key;
  }
  return key;
}

/** The header of a FeatureUpdate read by scanFeatureUpdate: everything but the values. */
export interface FeatureUpdateHeader {
  entity: string;
  entityId: string;
  view: string;
  /** event_time_ms: the as-of time. */
  asOf: number;
  revision: number;
  producedAt: number;
  /** Value entries (map entries of `values`) in the message. */
  valueCount: number;
}

/**
 * Decides whether a value's key (its UTF-8 bytes, `bytes[start, end)`) names a feature of `view`.
 * `index` is the entry's position among the values, for callers that expect a known order.
 */
export type ValueKeyCheck = (view: string, index: number, bytes: Uint8Array, start: number, end: number) => boolean;

/** Thrown by scanFeatureUpdate for a value key the check refused; `key` is the decoded name, `view` the message's view. */
export class UnknownValueKeyError extends Error {
  override name = "UnknownValueKeyError";
  constructor(
    readonly key: string,
    readonly view: string,
  ) {
    super(`unknown value key ${JSON.stringify(key)}`);
  }
}

// Where scanFeatureUpdate remembers the value keys until the view is known (field order is free).
let keyRanges = new Int32Array(256);
// The message being scanned and the read position: module state, like the encoder's slab, so a
// scan creates no closures (it runs once per consumed update).
let sBytes: Uint8Array = new Uint8Array(0);
let sPos = 0;
let sLen = 0;

// A varint at sPos (up to 2^53 exactly; larger int64 values lose precision as Number(bigint) would).
function sVarint(): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (sPos >= sLen) throw new Error("premature end of a varint");
    const b = sBytes[sPos++] as number;
    n += (b & 0x7f) * scale;
    if (b < 0x80) return n;
    scale *= 128;
  }
  throw new Error("varint longer than 10 bytes");
}

function sLength(): number {
  const n = sVarint();
  if (sPos + n > sLen) throw new Error("length past the end of the message");
  return n;
}

function sSkip(wt: number): void {
  if (wt === WireType.Varint) sVarint();
  else if (wt === WireType.Bit64) sPos += 8;
  else if (wt === WireType.LengthDelimited) {
    const n = sLength(); // read before adding: `sPos += sLength()` would add to the position before the length
    sPos += n;
  } else if (wt === WireType.Bit32) sPos += 4;
  else throw new Error(`unsupported wire type ${wt}`);
  if (sPos > sLen) throw new Error("premature end of a field");
}

function sText(): string {
  const n = sLength();
  const s = utf8Text(sBytes, sPos, sPos + n);
  sPos += n;
  return s;
}

// An int64 (signed) or uint64 varint as a Number, as Number(BinaryReader.int64()/uint64()) gives it:
// exact up to 2^53, through BigInt beyond (negative int64 values are ten-byte varints).
function sInt64(signed: boolean): number {
  const start = sPos;
  const n = sVarint();
  if (n <= Number.MAX_SAFE_INTEGER) return n;
  let big = 0n;
  let shift = 0n;
  for (let p = start; p < sPos; p++) {
    big |= BigInt((sBytes[p] as number) & 0x7f) << shift;
    shift += 7n;
  }
  return Number(signed ? BigInt.asIntN(64, big) : BigInt.asUintN(64, big));
}

/**
 * Reads a FeatureUpdate's header and checks every value key with `check`, without decoding the values:
 * for a consumer that passes the message on as bytes (feature-store keeps the record as it arrived).
 * Walks the whole message, nested values included, so what it accepts decodeFeatureUpdate can read;
 * throws an Error on malformed bytes and UnknownValueKeyError on a key the check refuses.
 */
// Hot path: guarded by bench/features.bench.ts (ingest events/s): one call per consumed update.
export function scanFeatureUpdate(bytes: Uint8Array, check: ValueKeyCheck): FeatureUpdateHeader {
  const h: FeatureUpdateHeader = { entity: "", entityId: "", view: "", asOf: 0, revision: 0, producedAt: 0, valueCount: 0 };
  h.valueCount = walkFeatureUpdate(bytes, h, undefined);
  for (let k = 0; k < h.valueCount; k++) {
    const start = keyRanges[2 * k] as number;
    const end = keyRanges[2 * k + 1] as number;
    if (!check(h.view, k, bytes, start, end)) throw new UnknownValueKeyError(utf8Text(bytes, start, end), h.view);
  }
  return h;
}

/**
 * The one walk over a FeatureUpdate's wire format that both readers share, with the module-state
 * helpers (no per-field allocations). Header fields go into `into`; every value entry is checked to
 * the end of its nested FeatureValue, then decoded into `values` when given (decodeFeatureUpdate),
 * or else only its key's byte range kept in keyRanges (scanFeatureUpdate). Returns the number of
 * value entries; throws on malformed bytes.
 */
function walkFeatureUpdate(bytes: Uint8Array, into: FeatureUpdateHeader | PlainFeatureUpdate, values: Record<string, PlainValue> | undefined): number {
  const view = values === undefined ? undefined : new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let entries = 0;
  sBytes = bytes;
  sPos = 0;
  sLen = bytes.length;
  try {
    while (sPos < sLen) {
      const tag = sVarint();
      const no = Math.floor(tag / 8);
      const wt = tag & 7;
      if (wt === WireType.LengthDelimited && no === F_ENTITY) into.entity = sText();
      else if (wt === WireType.LengthDelimited && no === F_ENTITY_ID) into.entityId = sText();
      else if (wt === WireType.LengthDelimited && no === F_VIEW) into.view = sText();
      else if (wt === WireType.Varint && no === F_EVENT_TIME) into.asOf = sInt64(true);
      else if (wt === WireType.Varint && no === F_REVISION) into.revision = sInt64(false);
      else if (wt === WireType.Varint && no === F_PRODUCED_AT) into.producedAt = sInt64(true);
      else if (wt === WireType.LengthDelimited && no === F_SOURCE_EVENT && "sourceEventId" in into) into.sourceEventId = sText();
      else if (wt === WireType.LengthDelimited && no === F_VALUES) {
        const end = sLength() + sPos;
        let keyStart = sPos;
        let keyEnd = sPos; // an entry without a key has the empty key
        let value: PlainValue = null;
        while (sPos < end) {
          const etag = sVarint();
          const eno = Math.floor(etag / 8);
          const ewt = etag & 7;
          if (eno === 1 && ewt === WireType.LengthDelimited) {
            const n = sLength();
            keyStart = sPos;
            keyEnd = sPos + n;
            sPos = keyEnd;
          } else if (eno === 2 && ewt === WireType.LengthDelimited) {
            const vend = sLength() + sPos;
            value = null;
            while (sPos < vend) {
              const vtag = sVarint();
              const vno = Math.floor(vtag / 8);
              const vwt = vtag & 7;
              if (view === undefined) sSkip(vwt);
              else if (vno === V_NUMBER && vwt === WireType.Bit64) {
                if (sPos + 8 > vend) throw new Error("premature end of a double");
                value = view.getFloat64(sPos, true);
                sPos += 8;
              } else if (vno === V_TEXT && vwt === WireType.LengthDelimited) value = sText();
              else if (vno === V_FLAG && vwt === WireType.Varint) value = sVarint() !== 0;
              else if (vno === V_INTEGER && vwt === WireType.Varint) value = sInt64(true);
              else sSkip(vwt);
            }
            if (sPos !== vend) throw new Error("a feature value overruns its length");
          } else sSkip(ewt);
        }
        if (sPos !== end) throw new Error("a value entry overruns its length");
        if (values !== undefined) values[valueKey(entries, keyStart, keyEnd)] = value;
        else rememberKey(entries, keyStart, keyEnd);
        entries++;
      } else sSkip(wt);
    }
  } finally {
    sBytes = EMPTY; // hold no reference to the caller's buffer
  }
  return entries;
}

// Keeps entry k's key range for scanFeatureUpdate's checks after the walk (the view may come last).
function rememberKey(k: number, start: number, end: number): void {
  if (2 * k + 2 > keyRanges.length) {
    const grown = new Int32Array(keyRanges.length * 2);
    grown.set(keyRanges);
    keyRanges = grown;
  }
  keyRanges[2 * k] = start;
  keyRanges[2 * k + 1] = end;
}

const EMPTY = new Uint8Array(0);
const utf8Decoder = new TextDecoder();

// ASCII text (names, ids) through Buffer's latin1 slice, which is what UTF-8 is for ASCII and far
// cheaper than TextDecoder for short strings; anything else through TextDecoder.
function utf8Text(bytes: Uint8Array, start: number, end: number): string {
  for (let i = start; i < end; i++) if ((bytes[i] as number) > 0x7f) return utf8Decoder.decode(bytes.subarray(start, end));
  // A Buffer (what Kafka clients hand over) decodes in place; a plain Uint8Array through a view.
  if (Buffer.isBuffer(bytes)) return bytes.toString("latin1", start, end);
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1");
}
