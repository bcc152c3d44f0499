import { create } from "@bufbuild/protobuf";
import type { GetOnlineFeaturesResponse } from "@loopline/proto/gen/loopline/v1/features_pb.js";
import { FeatureValueSchema, type FeatureStatus, type FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";

// GetOnlineFeatures answers column-wise; protobuf-es's fromBinary turns that into two objects per
// value (the FeatureValue and its oneof), about a fifth of a PredictBatch's CPU counting the
// garbage. This decoder keeps the columns as typed arrays; FeatureValue objects are only made for
// whoever asks (featureValueAt), never on the hot path.
// Hot path: every Predict and PredictBatch (bench/inference.bench.ts, "PredictBatch 512 entities").

/** FeatureValue's oneof cases by field number (0: no kind set). */
export const KIND_NONE = 0;
export const KIND_NUMBER = 1;
export const KIND_TEXT = 2;
export const KIND_FLAG = 3;
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
let pos = 0;
/** High 32 bits of the last varint read by varint(). */
let hi = 0;
const utf8 = new TextDecoder();
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

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
      for (let i = 0; i < 8; i++) f64Bytes[i] = buf[pos++] as number;
      kind = KIND_NUMBER;
      number = f64[0] as number;
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
      decodeValue(column, column.length, valueEnd, column.length < rows);
      column.length++;
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
  }
}
