import { create } from "@bufbuild/protobuf";
import type { GetOnlineFeaturesResponse } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { FeatureValueSchema, type FeatureStatus, type FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";

// GetOnlineFeatures answers column-wise; protobuf-es's fromBinary turns that into two objects per
// value (the FeatureValue and its oneof), about a fifth of a PredictBatch's CPU counting the
// garbage. This decoder keeps the columns as typed arrays; FeatureValue objects are only made for
// whoever asks (featureValueAt), never on the hot path.
// Hot path: every Predict and PredictBatch (bench/inference.bench.ts, "PredictBatch 512 entities").

// FeatureValue's oneof cases, numbered as its fields are.
/** No kind set: the feature has no value. */
export const KIND_NONE = 0;
/** `double number = 1`. */
export const KIND_NUMBER = 1;
/** `string text = 2`. */
export const KIND_TEXT = 2;
/** `bool flag = 3`. */
export const KIND_FLAG = 3;
/** `int64 integer = 4`. */
export const KIND_INTEGER = 4;

/** One feature's values for a batch of entities, column-wise. */
export interface FeatureColumnData {
  readonly ref: string;
  /** Values the store sent (the caller checks it equals the entities asked for). */
  readonly length: number;
  /** FeatureValue kind per row (KIND_*). */
  readonly kinds: Uint8Array;
  /** The number (KIND_NUMBER) or the flag as 0/1 (KIND_FLAG) per row. */
  readonly numbers: Float64Array;
  /** Text (KIND_TEXT) and int64 (KIND_INTEGER) values by row; holes elsewhere. */
  readonly others: (string | bigint | undefined)[];
  /** Status per row; UNSPECIFIED (0) past the statuses the store sent. */
  readonly statuses: Int32Array;
}

/** A value with no kind: what the log records for a feature that was not there. Shared, never mutated. */
export const NULL_VALUE: FeatureValue = create(FeatureValueSchema);

/** Row r of a column as a FeatureValue message (a new object, except for a value with no kind). */
export function featureValueAt(column: FeatureColumnData, r: number): FeatureValue {
  switch (column.kinds[r]) {
    case KIND_NUMBER:
      return { $typeName: "loopline.v1.FeatureValue", kind: { case: "number", value: column.numbers[r] as number } };
    case KIND_TEXT:
      return { $typeName: "loopline.v1.FeatureValue", kind: { case: "text", value: column.others[r] as string } };
    case KIND_FLAG:
      return { $typeName: "loopline.v1.FeatureValue", kind: { case: "flag", value: column.numbers[r] === 1 } };
    case KIND_INTEGER:
      return { $typeName: "loopline.v1.FeatureValue", kind: { case: "integer", value: column.others[r] as bigint } };
    default:
      return NULL_VALUE;
  }
}

function emptyColumn(ref: string, capacity: number): { ref: string; length: number; kinds: Uint8Array; numbers: Float64Array; others: (string | bigint | undefined)[]; statuses: Int32Array } {
  return { ref, length: 0, kinds: new Uint8Array(capacity), numbers: new Float64Array(capacity), others: [], statuses: new Int32Array(capacity) };
}

/** The columns of a decoded GetOnlineFeaturesResponse message (injected stores, tests). */
export function columnsOfResponse(response: GetOnlineFeaturesResponse, rows: number): FeatureColumnData[] {
  return response.columns.map((c) => {
    const column = emptyColumn(c.ref, rows);
    column.length = c.values.length;
    for (let r = 0; r < Math.min(rows, c.values.length); r++) {
      const kind = (c.values[r] as FeatureValue).kind;
      switch (kind.case) {
        case "number":
          column.kinds[r] = KIND_NUMBER;
          column.numbers[r] = kind.value;
          break;
        case "text":
          column.kinds[r] = KIND_TEXT;
          column.others[r] = kind.value;
          break;
        case "flag":
          column.kinds[r] = KIND_FLAG;
          column.numbers[r] = kind.value ? 1 : 0;
          break;
        case "integer":
          column.kinds[r] = KIND_INTEGER;
          column.others[r] = kind.value;
          break;
        default:
          break;
      }
    }
    for (let r = 0; r < Math.min(rows, c.statuses.length); r++) column.statuses[r] = c.statuses[r] as FeatureStatus;
    return column;
  });
}

/** The encoded response is not a GetOnlineFeaturesResponse. */
export class FeatureDecodeError extends Error {
  override readonly name = "FeatureDecodeError";
}

// --- the wire decoder ------------------------------------------------------------------------------
// Module state instead of a reader object: one decode runs at a time (synchronously).
const NO_BYTES = new Uint8Array(0);
let buf: Uint8Array = NO_BYTES;
const NO_VIEW: DataView = new DataView(NO_BYTES.buffer);
let view = NO_VIEW;
let pos = 0;
/** High 32 bits of the last varint read by varint(). */
let hi = 0;
const utf8 = new TextDecoder();

function fail(what: string): never {
  throw new FeatureDecodeError(`malformed GetOnlineFeaturesResponse: ${what} at byte ${pos}`);
}

/** Reads a varint; returns its low 32 bits (unsigned), leaves the high 32 bits in `hi`. */
function varint(): number {
  let lo = 0;
  hi = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= buf.length) fail("truncated varint");
    const b = buf[pos++] as number;
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) return lo >>> 0;
  }
  if (pos >= buf.length) fail("truncated varint");
  let b = buf[pos++] as number;
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x7f) >> 4;
  if (b < 0x80) return lo >>> 0;
  for (let shift = 3; shift <= 31; shift += 7) {
    if (pos >= buf.length) fail("truncated varint");
    b = buf[pos++] as number;
    hi |= (b & 0x7f) << shift;
    if (b < 0x80) {
      hi >>>= 0;
      return lo >>> 0;
    }
  }
  return fail("varint longer than 10 bytes");
}

/** Reads a length prefix; returns the end of the delimited range. */
function delimited(): number {
  const n = varint();
  if (hi !== 0 || n > buf.length - pos) fail("length past the end");
  return pos + n;
}

function string(end: number): string {
  for (let i = pos; i < end; i++) {
    if ((buf[i] as number) >= 0x80) {
      const s = utf8.decode(buf.subarray(pos, end));
      pos = end;
      return s;
    }
  }
  let s = "";
  // Short ASCII (refs, categories): building the string in JavaScript beats a native call.
  if (end - pos <= 16) for (let i = pos; i < end; i++) s += String.fromCharCode(buf[i] as number);
  else s = utf8.decode(buf.subarray(pos, end));
  pos = end;
  return s;
}

function skip(wireType: number): void {
  switch (wireType) {
    case 0:
      varint();
      return;
    case 1:
      pos += 8;
      break;
    case 2:
      pos = delimited();
      return;
    case 5:
      pos += 4;
      break;
    default:
      fail(`wire type ${wireType}`);
  }
  if (pos > buf.length) fail("truncated field");
}

function decodeValue(column: ReturnType<typeof emptyColumn>, r: number, end: number, store: boolean): void {
  let kind = KIND_NONE;
  let number = 0;
  let other: string | bigint | undefined;
  while (pos < end) {
    const tag = varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === KIND_NUMBER && wireType === 1) {
      if (end - pos < 8) fail("truncated double");
      kind = KIND_NUMBER;
      number = view.getFloat64(pos, true);
      pos += 8;
    } else if (field === KIND_TEXT && wireType === 2) {
      other = string(delimited());
      kind = KIND_TEXT;
    } else if (field === KIND_FLAG && wireType === 0) {
      const lo = varint();
      kind = KIND_FLAG;
      number = lo !== 0 || hi !== 0 ? 1 : 0;
    } else if (field === KIND_INTEGER && wireType === 0) {
      const lo = varint();
      kind = KIND_INTEGER;
      other = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
    } else {
      skip(wireType);
    }
  }
  if (pos !== end) fail("value overruns its length");
  if (!store) return;
  column.kinds[r] = kind;
  if (kind === KIND_NUMBER || kind === KIND_FLAG) column.numbers[r] = number;
  else if (kind !== KIND_NONE) column.others[r] = other;
}

function decodeColumn(end: number, rows: number): FeatureColumnData {
  const column = emptyColumn("", rows);
  let statuses = 0;
  while (pos < end) {
    const tag = varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === 2) {
      column.ref = string(delimited());
    } else if (field === 2 && wireType === 2) {
      const valueEnd = delimited();
      const r = column.length++;
      const first = buf[pos];
      // The shapes a feature store sends (one field, set once) read directly; anything else in full.
      if (r < rows && valueEnd - pos === 9 && first === ((KIND_NUMBER << 3) | 1)) {
        column.kinds[r] = KIND_NUMBER;
        column.numbers[r] = view.getFloat64(pos + 1, true);
        pos = valueEnd;
      } else if (r < rows && valueEnd - pos === 2 && first === KIND_FLAG << 3 && (buf[pos + 1] as number) < 0x80) {
        column.kinds[r] = KIND_FLAG;
        column.numbers[r] = buf[pos + 1] === 0 ? 0 : 1;
        pos = valueEnd;
      } else if (r < rows && first === ((KIND_TEXT << 3) | 2) && (buf[pos + 1] as number) < 0x80 && buf[pos + 1] === valueEnd - pos - 2) {
        column.kinds[r] = KIND_TEXT;
        pos += 2;
        column.others[r] = string(valueEnd);
      } else {
        decodeValue(column, r, valueEnd, r < rows);
      }
    } else if (field === 3 && (wireType === 0 || wireType === 2)) {
      // Packed (what proto3 writers send) or one by one (what parsers must accept).
      const statusEnd = wireType === 2 ? delimited() : -1;
      do {
        const status = varint() | 0; // an int32 enum: the low 32 bits, signed
        if (statuses < rows) column.statuses[statuses] = status;
        statuses++;
      } while (pos < statusEnd);
      if (wireType === 2 && pos !== statusEnd) fail("statuses overrun their length");
    } else {
      skip(wireType);
    }
  }
  if (pos !== end) fail("column overruns its length");
  return column;
}

/**
 * Decodes an encoded GetOnlineFeaturesResponse into columns of at most `rows` rows (a column
 * reports every value it carried in `length`; those past `rows` are counted, not kept).
 * Accepts what protobuf-es's fromBinary accepts for these fields (unknown fields skipped,
 * statuses packed or not, the last oneof case winning); throws FeatureDecodeError otherwise.
 */
export function decodeOnlineFeatures(bytes: Uint8Array, rows: number): FeatureColumnData[] {
  buf = bytes;
  view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  pos = 0;
  try {
    const columns: FeatureColumnData[] = [];
    while (pos < buf.length) {
      const tag = varint();
      if (tag >>> 3 === 2 && (tag & 7) === 2) columns.push(decodeColumn(delimited(), rows));
      else skip(tag & 7);
    }
    if (pos !== buf.length) fail("message overruns its end");
    return columns;
  } finally {
    buf = NO_BYTES;
    view = NO_VIEW;
  }
}

// --- the request ----------------------------------------------------------------------------------
/** UTF-8 length, counting ASCII in JavaScript (a native call costs more for short strings). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, "utf8");
  return s.length;
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/**
 * Encodes GetOnlineFeaturesRequest { entity_ids, features } exactly as toBinary does: one exact
 * allocation where protobuf-es's writer makes a Uint8Array per string (512 per PredictBatch).
 */
export function encodeOnlineFeaturesRequest(entityIds: readonly string[], features: readonly string[]): Buffer {
  let size = 0;
  for (const list of [entityIds, features]) {
    for (const s of list) {
      const n = utf8Length(s);
      size += 1 + varintSize(n) + n;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [tag, list] of [[(2 << 3) | 2, entityIds] as const, [(3 << 3) | 2, features] as const]) {
    for (const s of list) {
      out[at++] = tag;
      const n = utf8Length(s);
      for (let x = n; ; x >>>= 7) {
        if (x < 0x80) {
          out[at++] = x;
          break;
        }
        out[at++] = (x & 0x7f) | 0x80;
      }
      if (n === s.length) for (let i = 0; i < n; i++) out[at++] = s.charCodeAt(i);
      else at += out.write(s, at, n, "utf8");
    }
  }
  return out;
}
