import type { ModelOutput, PredictionRecord } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import type { FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";
import { KIND_FLAG, KIND_INTEGER, KIND_NUMBER, KIND_TEXT, type FeatureColumnData } from "./feature-columns.js";
import { BatchedRecord, isLoggedOutput, type RecordBatch } from "./record-batch.js";
import type { HostTensor } from "./tensor.js";

// A hand-written protobuf encoder for loopline.v1.PredictionRecord. protobuf-es's toBinary (and
// its BinaryWriter, which allocates per string and per nested message) costs about 10 µs per
// record, more than the prediction itself at PredictBatch rates. This one writes a record in one
// pass into a reused scratch buffer (nested lengths patched in afterwards) and copies it out; a
// BatchedRecord is written straight from its batch's columns and tensors. Same bytes as toBinary
// (fields in number order, proto3 defaults omitted); record-encoding.test.ts checks it against toBinary.
// Hot path: every prediction (bench/inference.bench.ts, "PredictBatch 512 entities").

// --- the writer: module state, one record at a time (encoding is synchronous) ----------------------
// Records are written one after the other into a slab and handed out as views of it, the way
// Buffer.allocUnsafe hands out slices of its pool: no copy, no allocation but the view.
const SLAB = 64 * 1024;
let out = Buffer.allocUnsafe(SLAB);
let view = new DataView(out.buffer, out.byteOffset, out.byteLength);
/** Where the record being written starts in the slab. */
let start = 0;
let at = 0;

/** Makes room for n more bytes: a new slab, with the record so far moved to its start. */
function ensure(n: number): void {
  if (at + n <= out.length) return;
  const next = Buffer.allocUnsafe(Math.max(SLAB, 2 * (at - start + n)));
  out.copy(next, 0, start, at);
  at -= start;
  start = 0;
  out = next;
  view = new DataView(out.buffer, out.byteOffset, out.byteLength);
}

/** Copies small byte arrays (a loop beats Buffer.copy's checks below a few hundred bytes). */
function copy(b: Uint8Array): void {
  const n = b.length;
  if (n > 64) {
    out.set(b, at);
    at += n;
    return;
  }
  for (let i = 0; i < n; i++) out[at++] = b[i] as number;
}

function varint(v: number): void {
  let x = v >>> 0;
  while (x >= 0x80) {
    out[at++] = (x & 0x7f) | 0x80;
    x >>>= 7;
  }
  out[at++] = x;
}

const varintSize = (v: number): number => (v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5);

function varint64(v: bigint): void {
  // BigInt arithmetic is slow: non-negative values below 2^53 (every epoch-ms time) go as numbers.
  if (v >= 0n && v <= 9007199254740991n) {
    let x = Number(v);
    while (x >= 128) {
      out[at++] = (x % 128) | 0x80;
      x = Math.floor(x / 128);
    }
    out[at++] = x;
    return;
  }
  let x = BigInt.asUintN(64, v);
  while (x >= 0x80n) {
    out[at++] = Number(x & 0x7fn) | 0x80;
    x >>= 7n;
  }
  out[at++] = Number(x);
}

/** An int32 enum value: negative ones are sign-extended to 64 bits, 10 bytes. */
function enumValue(v: number): void {
  if (v >= 0) {
    varint(v);
    return;
  }
  let lo = v >>> 0;
  for (let i = 0; i < 4; i++) {
    out[at++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  out[at++] = lo | 0x70 | 0x80; // 4 low bits, then the high 32 bits (all ones) from here on
  out[at++] = 0xff;
  out[at++] = 0xff;
  out[at++] = 0xff;
  out[at++] = 0xff;
  out[at++] = 0x01;
}

const enumSize = (v: number): number => (v < 0 ? 10 : varintSize(v));

function double(x: number): void {
  view.setFloat64(at, x, true);
  at += 8;
}

/** UTF-8 length, counting ASCII in JavaScript (a native call costs more for short strings). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, "utf8");
  return s.length;
}

/** Writes s as UTF-8 (room for 3 bytes per UTF-16 unit already ensured). */
function utf8(s: string): void {
  const from = at;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      at = from + out.write(s, from, "utf8");
      return;
    }
    out[at++] = c;
  }
}

/** A length-delimited string field. */
function string(tag: number, s: string): void {
  ensure(3 * s.length + 11);
  out[at++] = tag;
  if (s.length <= 42) {
    // At most 126 bytes of UTF-8: a one-byte length, patched in once the bytes are written.
    const lengthAt = at++;
    utf8(s);
    out[lengthAt] = at - lengthAt - 1;
    return;
  }
  varint(utf8Length(s));
  utf8(s);
}

function bytes(b: Buffer): void {
  ensure(b.length);
  copy(b);
}

/** UTF-8 bytes of strings that repeat across records (model, version, output names). */
const repeated = new Map<string, Buffer>();
function cached(s: string): Buffer {
  let b = repeated.get(s);
  if (b === undefined) {
    if (repeated.size > 10_000) repeated.clear();
    repeated.set(s, (b = Buffer.from(s, "utf8")));
  }
  return b;
}

/** A string field whose value repeats across records. */
function repeatedString(tag: number, s: string): void {
  const b = cached(s);
  ensure(b.length + 6);
  out[at++] = tag;
  varint(b.length);
  copy(b);
}

/** The encoded field-7 block of a featureRefs array; records of one version share the array. */
const refBlocks = new WeakMap<readonly string[], Buffer>();
function refBlock(refs: readonly string[]): Buffer {
  let block = refBlocks.get(refs);
  if (block === undefined) {
    const parts = refs.map((ref) => {
      const b = Buffer.from(ref, "utf8");
      const head: number[] = [(7 << 3) | 2];
      for (let n = b.length; ; n >>>= 7) {
        if (n < 0x80) {
          head.push(n);
          break;
        }
        head.push((n & 0x7f) | 0x80);
      }
      return Buffer.concat([Buffer.from(head), b]);
    });
    refBlocks.set(refs, (block = Buffer.concat(parts)));
  }
  return block;
}

/** The last time written and its encoding (field 2): every record of a batch has the same. */
let lastTime = 0n;
let lastTimeBytes = Buffer.alloc(0);

// --- field 8: one FeatureValue, by kind ------------------------------------------------------------
const VALUE = (8 << 3) | 2;

function numberValue(x: number): void {
  ensure(11);
  out[at++] = VALUE;
  out[at++] = 9;
  out[at++] = (1 << 3) | 1;
  double(x);
}

function textValue(s: string): void {
  if (s.length <= 41) {
    // At most 123 bytes of UTF-8: both lengths fit one byte each, patched in afterwards.
    ensure(3 * s.length + 4);
    out[at++] = VALUE;
    const outerAt = at++;
    out[at++] = (2 << 3) | 2;
    const innerAt = at++;
    utf8(s);
    out[innerAt] = at - innerAt - 1;
    out[outerAt] = at - outerAt - 1;
    return;
  }
  const n = utf8Length(s);
  ensure(n + 12);
  out[at++] = VALUE;
  varint(1 + varintSize(n) + n);
  out[at++] = (2 << 3) | 2;
  varint(n);
  utf8(s);
}

function flagValue(b: boolean): void {
  ensure(4);
  out[at++] = VALUE;
  out[at++] = 2;
  out[at++] = 3 << 3;
  out[at++] = b ? 1 : 0;
}

function integerValue(v: bigint): void {
  ensure(13);
  out[at++] = VALUE;
  const lengthAt = at++;
  out[at++] = 4 << 3;
  varint64(v);
  out[lengthAt] = at - lengthAt - 1;
}

function nullValue(): void {
  ensure(2);
  out[at++] = VALUE;
  out[at++] = 0;
}

function featureValue(v: FeatureValue): void {
  const kind = v.kind;
  switch (kind.case) {
    case "number":
      numberValue(kind.value);
      break;
    case "text":
      textValue(kind.value);
      break;
    case "flag":
      flagValue(kind.value);
      break;
    case "integer":
      integerValue(kind.value);
      break;
    default:
      nullValue();
  }
}

/** Row r of a store column. */
function columnValue(column: FeatureColumnData, r: number): void {
  switch (column.kinds[r]) {
    case KIND_NUMBER:
      numberValue(column.numbers[r] as number);
      break;
    case KIND_TEXT:
      textValue(column.others[r] as string);
      break;
    case KIND_FLAG:
      flagValue(column.numbers[r] === 1);
      break;
    case KIND_INTEGER:
      integerValue(column.others[r] as bigint);
      break;
    default:
      nullValue();
  }
}

// --- field 12: one ModelOutput ------------------------------------------------------------------------
/** Writes a ModelOutput's header (tag, length, name, values tag and length) for `count` values. */
function outputHeader(name: string, count: number): void {
  const nameBytes = name === "" ? undefined : cached(name);
  let inner = 0;
  if (nameBytes !== undefined) inner += 1 + varintSize(nameBytes.length) + nameBytes.length;
  if (count > 0) inner += 1 + varintSize(8 * count) + 8 * count;
  ensure(inner + 6);
  out[at++] = (12 << 3) | 2;
  varint(inner);
  if (nameBytes !== undefined) {
    out[at++] = (1 << 3) | 2;
    varint(nameBytes.length);
    copy(nameBytes);
  }
  if (count > 0) {
    out[at++] = (2 << 3) | 2;
    varint(8 * count);
  }
}

function modelOutput(o: ModelOutput): void {
  outputHeader(o.name, o.values.length);
  for (const x of o.values) double(x);
}

function tensorRow(name: string, tensor: HostTensor, count: number, j: number): void {
  const data = tensor.data as Float32Array;
  const perRow = data.length / count;
  outputHeader(name, perRow);
  for (let k = j * perRow, end = k + perRow; k < end; k++) double(Number(data[k]));
}

// --- the record -----------------------------------------------------------------------------------
/** Fields 1 to 7. */
function head(r: PredictionRecord): void {
  if (r.requestId !== "") string((1 << 3) | 2, r.requestId);
  if (r.timeMs !== 0n) {
    if (r.timeMs === lastTime) {
      bytes(lastTimeBytes);
    } else {
      ensure(11);
      const from = at;
      out[at++] = 2 << 3;
      varint64(r.timeMs);
      lastTimeBytes = Buffer.from(out.subarray(from, at));
      lastTime = r.timeMs;
    }
  }
  if (r.model !== "") repeatedString((3 << 3) | 2, r.model);
  if (r.modelVersion !== "") repeatedString((4 << 3) | 2, r.modelVersion);
  if (r.route !== 0) {
    ensure(11);
    out[at++] = 5 << 3;
    enumValue(r.route);
  }
  if (r.entityId !== "") string((6 << 3) | 2, r.entityId);
  bytes(refBlock(r.featureRefs));
}

/** Field 9, packed. */
function statuses(list: ArrayLike<number>, from: number, to: number): void {
  if (to <= from) return;
  ensure(11 * (to - from) + 6);
  out[at++] = (9 << 3) | 2;
  let n = 0;
  for (let i = from; i < to; i++) n += enumSize(list[i] as number);
  varint(n);
  for (let i = from; i < to; i++) enumValue(list[i] as number);
}

/** Fields 10 and 11. */
function scoreAndDecision(r: PredictionRecord): void {
  ensure(11);
  if (r.score !== 0 || Object.is(r.score, -0)) {
    out[at++] = (10 << 3) | 1;
    double(r.score);
  }
  if (r.decision) {
    out[at++] = 11 << 3;
    out[at++] = 1;
  }
}

/** Fields 13 and 14. */
function tail(r: PredictionRecord): void {
  ensure(8);
  if (r.latencyUs !== 0) {
    out[at++] = 13 << 3;
    varint(r.latencyUs);
  }
  if (r.degraded) {
    out[at++] = 14 << 3;
    out[at++] = 1;
  }
}

/** The fields of a record written from its batch: values, statuses and outputs. */
function fromBatch(r: PredictionRecord, batch: RecordBatch, j: number): void {
  const inputs = batch.sources.length;
  for (let i = 0; i < inputs; i++) {
    const source = batch.sources[i];
    if (source === undefined) nullValue();
    else if (batch.fromStore[i] === true) columnValue(source as FeatureColumnData, batch.rows[j] as number);
    else featureValue(source as FeatureValue);
  }
  statuses(batch.statuses, j * inputs, (j + 1) * inputs);
  scoreAndDecision(r);
  for (let o = 0; o < batch.outputs.length; o++) {
    const tensor = batch.outputs[o] as HostTensor;
    if (isLoggedOutput(tensor)) tensorRow(batch.outputNames[o] ?? "", tensor, batch.count, j);
  }
}

/** Encodes a record exactly as toBinary(PredictionRecordSchema, record) would. */
export function encodePredictionRecord(r: PredictionRecord): Buffer {
  start = at;
  head(r);
  const batch = r instanceof BatchedRecord ? r.batch : undefined;
  if (batch !== undefined) {
    fromBatch(r, batch, (r as BatchedRecord).row);
  } else {
    for (const v of r.featureValues) featureValue(v);
    statuses(r.featureStatuses, 0, r.featureStatuses.length);
    scoreAndDecision(r);
    for (const o of r.outputs) modelOutput(o);
  }
  tail(r);
  const record = out.subarray(start, at);
  start = at;
  return record;
}
