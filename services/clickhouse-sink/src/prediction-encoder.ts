import { isUtf8 } from "node:buffer";
import type { RowBinaryWriter } from "@loopline/kit";
import { ROUTE_NAMES } from "./prediction-decoder.js";
import { millis, seconds } from "./rows.js";

/**
 * loopline.v1.PredictionRecord bytes → one RowBinary row of `predictions` (columns as in
 * TABLE_COLUMNS.predictions), with no objects in between: the record is scanned once into reusable
 * scratch arrays, then its strings and numbers are copied straight from the protobuf bytes into the
 * writer (a protobuf string and a RowBinary String are both a length and UTF-8 bytes). Nothing is
 * decoded into JS strings, so feature refs and model names cost no allocation and need no cache.
 *
 * It writes the same bytes as encodeRowBinary(TABLE_COLUMNS.predictions, [decodePredictionRow(...)])
 * (tests pin the two together) and declines, writing nothing, whatever it is not sure of: malformed
 * bytes, text that is not valid UTF-8 (the reference decoder replaces it with U+FFFD), a missing
 * request_id or model. The caller then maps the record through mapRecord, which keeps the exact
 * rejection codes and details.
 */
// Hot path: every prediction crosses this function once; guarded by bench/sink.bench.ts.

// Field numbers of loopline.v1.PredictionRecord, ModelOutput and FeatureValue (proto/loopline/v1/*.proto).
const P_REQUEST_ID = 1, P_TIME_MS = 2, P_MODEL = 3, P_MODEL_VERSION = 4, P_ROUTE = 5, P_ENTITY_ID = 6, P_FEATURE_REFS = 7;
const P_FEATURE_VALUES = 8, P_FEATURE_STATUSES = 9, P_SCORE = 10, P_DECISION = 11, P_OUTPUTS = 12, P_LATENCY_US = 13, P_DEGRADED = 14;
const O_NAME = 1, O_VALUES = 2;
const V_NUMBER = 1, V_TEXT = 2, V_FLAG = 3, V_INTEGER = 4;
const VARINT = 0, BIT64 = 1, LENGTH_DELIMITED = 2, START_GROUP = 3, END_GROUP = 4, BIT32 = 5;

/** Thrown inside the scan when the fast path declines; never escapes writePredictionRow. */
const DECLINE = new Error("prediction declined by the fast path");

// Scratch state of the record being scanned (the function is synchronous, so one set suffices).
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;
let lo = 0; // low and high 32 bits of the last varint
let hi = 0;
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

/** Growable parallel scratch arrays. */
class Scratch {
  n = 0;
  a: Int32Array;
  b: Int32Array;
  x: Float64Array;
  constructor(size: number) {
    this.a = new Int32Array(size);
    this.b = new Int32Array(size);
    this.x = new Float64Array(size);
  }
  push(a: number, b: number, x: number): void {
    if (this.n === this.a.length) {
      const size = this.n * 2;
      const a2 = new Int32Array(size), b2 = new Int32Array(size), x2 = new Float64Array(size);
      a2.set(this.a);
      b2.set(this.b);
      x2.set(this.x);
      this.a = a2;
      this.b = b2;
      this.x = x2;
    }
    this.a[this.n] = a;
    this.b[this.n] = b;
    this.x[this.n] = x;
    this.n++;
  }
}

const refs = new Scratch(32); // a..b: the ref's bytes
const values = new Scratch(32); // x: the number column; a..b: text bytes (a = b = 0 when none)
const statuses = new Scratch(32); // a: the status
const outputs = new Scratch(8); // a..b: name bytes; x: number of values
const outputValues = new Scratch(16); // x: the value

function varint(): void {
  let b = 0, l = 0, h = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    b = buf[pos++] as number;
    l |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return endVarint(l, 0);
  }
  b = buf[pos++] as number;
  l |= (b & 0x0f) << 28;
  h = (b & 0x70) >> 4;
  if ((b & 0x80) === 0) return endVarint(l, h);
  for (let shift = 3; shift <= 31; shift += 7) {
    b = buf[pos++] as number;
    h |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return endVarint(l, h);
  }
  throw DECLINE;
}

function endVarint(l: number, h: number): void {
  if (pos > buf.length) throw DECLINE; // ran off the end (undefined bytes read as 0)
  lo = l >>> 0;
  hi = h >>> 0;
}

/** The last varint as a JS number, signed like protobuf's int64 (exact up to 2^53, as Number(bigint) beyond). */
const int64 = () => (hi | 0) * 4_294_967_296 + lo;

function double(): number {
  if (pos + 8 > buf.length) throw DECLINE;
  for (let i = 0; i < 8; i++) f64Bytes[i] = buf[pos + i] as number;
  pos += 8;
  return f64[0] as number;
}

/** Reads a length prefix; returns the end of the field's bytes. */
function lengthDelimited(): number {
  varint();
  if (hi !== 0) throw DECLINE;
  const end = pos + lo;
  if (end > buf.length) throw DECLINE;
  return end;
}

/** Reads a string field; returns its end (its bytes are pos_before..end). Declines on invalid UTF-8. */
function text(): number {
  const end = lengthDelimited();
  for (let i = pos; i < end; i++) {
    if ((buf[i] as number) >= 0x80) {
      if (!isUtf8(buf.subarray(pos, end))) throw DECLINE;
      break;
    }
  }
  return end;
}

function skip(wireType: number, fieldNo: number): void {
  switch (wireType) {
    case VARINT:
      varint();
      return;
    case BIT64:
      pos += 8;
      break;
    case LENGTH_DELIMITED:
      pos = lengthDelimited();
      return;
    case BIT32:
      pos += 4;
      break;
    case START_GROUP:
      for (;;) {
        varint();
        const no = lo >>> 3, wt = lo & 7;
        if (wt === END_GROUP) {
          if (no !== fieldNo) throw DECLINE;
          return;
        }
        skip(wt, no);
      }
    default:
      throw DECLINE;
  }
  if (pos > buf.length) throw DECLINE;
}

/** A FeatureValue: the last known field wins, as in the reference decoder. */
function featureValue(end: number): void {
  let kind = 0; // 0 null, 1 number, 2 text
  let x = Number.NaN, ts = 0, te = 0;
  while (pos < end) {
    varint();
    const no = lo >>> 3, wt = lo & 7;
    if (no === V_NUMBER && wt === BIT64) {
      x = double();
      kind = 1;
    } else if (no === V_TEXT && wt === LENGTH_DELIMITED) {
      te = text();
      ts = pos;
      pos = te;
      kind = 2;
    } else if (no === V_FLAG && wt === VARINT) {
      varint();
      x = (lo | hi) !== 0 ? 1 : 0;
      kind = 1;
    } else if (no === V_INTEGER && wt === VARINT) {
      varint();
      x = int64();
      kind = 1;
    } else skip(wt, no);
  }
  if (pos !== end) throw DECLINE;
  // Numbers column: the number, nan for text and null; strings column: the text, '' otherwise.
  if (kind === 1) values.push(0, 0, x);
  else if (kind === 2) values.push(ts, te, Number.NaN);
  else values.push(0, 0, Number.NaN);
}

function modelOutput(end: number): void {
  let ns = 0, ne = 0;
  const first = outputValues.n;
  while (pos < end) {
    varint();
    const no = lo >>> 3, wt = lo & 7;
    if (no === O_NAME && wt === LENGTH_DELIMITED) {
      ne = text();
      ns = pos;
      pos = ne;
    } else if (no === O_VALUES && wt === LENGTH_DELIMITED) {
      const stop = lengthDelimited();
      while (pos < stop) outputValues.push(0, 0, double());
      if (pos !== stop) throw DECLINE;
    } else if (no === O_VALUES && wt === BIT64) {
      outputValues.push(0, 0, double());
    } else skip(wt, no);
  }
  if (pos !== end) throw DECLINE;
  outputs.push(ns, ne, outputValues.n - first);
}

/** `[i]` suffixes of tensor outputs' element names, as bytes. */
const SUFFIXES: Uint8Array[] = Array.from({ length: 64 }, (_, i) => Buffer.from(`[${i}]`, "latin1"));
const suffix = (i: number) => SUFFIXES[i] ?? Buffer.from(`[${i}]`, "latin1");

/**
 * Appends the record as one `predictions` row and returns true, or returns false having written
 * nothing (see above). `offset` is the Kafka offset as decimal text, `ingestedAt` DateTime seconds.
 */
export function writePredictionRow(bytes: Uint8Array, partition: number, offset: string, ingestedAt: number, w: RowBinaryWriter): boolean {
  buf = bytes;
  pos = 0;
  refs.n = values.n = statuses.n = outputs.n = outputValues.n = 0;
  let rs = 0, re = 0, ms = 0, me = 0, vs = 0, ve = 0, es = 0, ee = 0;
  let timeMs = 0, route = 0, score = 0, decision = 0, latencyUs = 0, degraded = 0;
  try {
    const len = buf.length;
    while (pos < len) {
      varint();
      const no = lo >>> 3, wt = lo & 7;
      if (wt === LENGTH_DELIMITED) {
        // text() leaves pos on the string's first byte and returns its end.
        switch (no) {
          case P_REQUEST_ID: re = text(); rs = pos; pos = re; continue;
          case P_MODEL: me = text(); ms = pos; pos = me; continue;
          case P_MODEL_VERSION: ve = text(); vs = pos; pos = ve; continue;
          case P_ENTITY_ID: ee = text(); es = pos; pos = ee; continue;
          case P_FEATURE_REFS: {
            const end = text();
            refs.push(pos, end, 0);
            pos = end;
            continue;
          }
          case P_FEATURE_VALUES:
            featureValue(lengthDelimited());
            continue;
          case P_FEATURE_STATUSES: {
            const end = lengthDelimited();
            while (pos < end) {
              varint();
              statuses.push(lo | 0, 0, 0);
            }
            if (pos !== end) throw DECLINE;
            continue;
          }
          case P_OUTPUTS:
            modelOutput(lengthDelimited());
            continue;
        }
      } else if (wt === VARINT) {
        switch (no) {
          case P_TIME_MS: varint(); timeMs = int64(); continue;
          case P_ROUTE: varint(); route = lo | 0; continue;
          case P_FEATURE_STATUSES: varint(); statuses.push(lo | 0, 0, 0); continue;
          case P_DECISION: varint(); decision = (lo | hi) !== 0 ? 1 : 0; continue;
          case P_LATENCY_US: varint(); latencyUs = lo; continue;
          case P_DEGRADED: varint(); degraded = (lo | hi) !== 0 ? 1 : 0; continue;
        }
      } else if (wt === BIT64 && no === P_SCORE) {
        score = double();
        continue;
      }
      skip(wt, no);
    }
    if (pos !== len) throw DECLINE;
  } catch (err) {
    if (err === DECLINE) return false;
    throw err;
  }
  if (re === rs || me === ms) return false; // missing request_id or model: the reference path rejects it

  w.utf8(buf, rs, re);
  w.uint32(seconds(timeMs));
  w.uint64(millis(timeMs));
  w.utf8(buf, ms, me);
  w.utf8(buf, vs, ve);
  w.string(ROUTE_NAMES[route] ?? String(route));
  w.utf8(buf, es, ee);
  w.varUInt(refs.n);
  for (let i = 0; i < refs.n; i++) w.utf8(buf, refs.a[i] as number, refs.b[i] as number);
  w.varUInt(values.n);
  for (let i = 0; i < values.n; i++) w.float64(values.x[i] as number);
  w.varUInt(values.n);
  for (let i = 0; i < values.n; i++) w.utf8(buf, values.a[i] as number, values.b[i] as number);
  w.varUInt(statuses.n);
  // Statuses are Feast's numbers (0–4); anything else is kept as 0 rather than overflowing UInt8.
  for (let i = 0; i < statuses.n; i++) {
    const s = statuses.a[i] as number;
    w.uint8(s >= 0 && s <= 255 ? s : 0);
  }
  w.float64(score);
  w.uint8(decision);
  // A one-value output keeps its name; a tensor's elements become name[0], name[1], ...
  w.varUInt(outputValues.n);
  for (let o = 0; o < outputs.n; o++) {
    const ns = outputs.a[o] as number, ne = outputs.b[o] as number, count = outputs.x[o] as number;
    if (count === 1) w.utf8(buf, ns, ne);
    else {
      for (let i = 0; i < count; i++) {
        const sfx = suffix(i);
        w.varUInt(ne - ns + sfx.length);
        w.raw(buf, ns, ne);
        w.raw(sfx, 0, sfx.length);
      }
    }
  }
  w.varUInt(outputValues.n);
  for (let i = 0; i < outputValues.n; i++) w.float64(outputValues.x[i] as number);
  w.uint32(latencyUs);
  w.uint8(degraded);
  w.uint32(partition);
  w.uint64Decimal(offset);
  w.uint32(ingestedAt);
  return true;
}
