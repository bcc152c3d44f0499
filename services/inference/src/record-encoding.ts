import type { ModelOutput, PredictionRecord } from "@loopline/proto/gen/loopline/v1/predictions_pb.js";
import type { FeatureValue } from "@loopline/proto/gen/loopline/v1/values_pb.js";

// A hand-written protobuf encoder for loopline.v1.PredictionRecord. protobuf-es's toBinary (and
// its BinaryWriter, which allocates per string and per nested message) costs about 10 µs per
// record, more than the prediction itself at PredictBatch rates; this one sizes the record first
// and writes it into one buffer. Same bytes as toBinary (fields in number order, proto3 defaults
// omitted); record-encoding.test.ts checks it against toBinary.
// Hot path: every prediction (bench/inference.bench.ts, "PredictBatch 512 entities").

const varintSize = (v: number): number => (v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5);

function varint64Size(v: bigint): number {
  // BigInt arithmetic is slow: non-negative values below 2^53 (every epoch-ms time) go as numbers.
  if (v >= 0n && v <= 9007199254740991n) {
    let x = Number(v);
    let n = 1;
    while (x >= 128) {
      x = Math.floor(x / 128);
      n++;
    }
    return n;
  }
  let x = BigInt.asUintN(64, v);
  let n = 1;
  while (x >= 0x80n) {
    x >>= 7n;
    n++;
  }
  return n;
}

/** UTF-8 length, counting ASCII in JavaScript (a native call costs more for short strings). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, "utf8");
  return s.length;
}

const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);

/** Enum values are int32: negative ones take 10 bytes on the wire. */
const enumSize = (v: number): number => (v < 0 ? 10 : varintSize(v));

/** UTF-8 bytes of strings that repeat across records (model, version, refs, output names). */
const repeated = new Map<string, Buffer>();
function cached(s: string): Buffer {
  let b = repeated.get(s);
  if (b === undefined) {
    if (repeated.size > 10_000) repeated.clear();
    repeated.set(s, (b = Buffer.from(s, "utf8")));
  }
  return b;
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

function valueSize(v: FeatureValue): number {
  const kind = v.kind;
  switch (kind.case) {
    case "number":
      return 9;
    case "text": {
      const n = utf8Length(kind.value);
      return 1 + varintSize(n) + n;
    }
    case "flag":
      return 2;
    case "integer":
      return 1 + varint64Size(kind.value);
    default:
      return 0;
  }
}

function outputSize(o: ModelOutput): number {
  let n = 0;
  if (o.name !== "") {
    const b = cached(o.name).length;
    n += 1 + varintSize(b) + b;
  }
  if (o.values.length > 0) n += 1 + varintSize(8 * o.values.length) + 8 * o.values.length;
  return n;
}

class Out {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
  varint(v: number): void {
    let x = v >>> 0;
    while (x >= 0x80) {
      this.buf[this.pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.pos++] = x;
  }
  varint64(v: bigint): void {
    if (v >= 0n && v <= 9007199254740991n) {
      let x = Number(v);
      while (x >= 128) {
        this.buf[this.pos++] = (x % 128) | 0x80;
        x = Math.floor(x / 128);
      }
      this.buf[this.pos++] = x;
      return;
    }
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }
  enumValue(v: number): void {
    if (v < 0) this.varint64(BigInt(v));
    else this.varint(v);
  }
  double(x: number): void {
    scratch[0] = x; // little-endian on every platform onnxruntime-node ships for
    for (let i = 0; i < 8; i++) this.buf[this.pos++] = scratchBytes[i] as number;
  }
  bytes(field: number, b: Buffer): void {
    this.byte((field << 3) | 2);
    this.varint(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }
  string(field: number, s: string, n: number): void {
    this.byte((field << 3) | 2);
    this.varint(n);
    if (n === s.length) {
      for (let i = 0; i < n; i++) this.buf[this.pos++] = s.charCodeAt(i);
    } else {
      this.pos += this.buf.write(s, this.pos, n, "utf8");
    }
  }
}

/** Encodes a record exactly as toBinary(PredictionRecordSchema, record) would. */
export function encodePredictionRecord(r: PredictionRecord): Buffer {
  // Sizing pass: the nested lengths are needed before their contents are written.
  let size = 0;
  const str = (s: string, isRepeated: boolean) => {
    const n = isRepeated ? cached(s).length : utf8Length(s);
    return 1 + varintSize(n) + n;
  };
  if (r.requestId !== "") size += str(r.requestId, false);
  if (r.timeMs !== 0n) size += 1 + varint64Size(r.timeMs);
  if (r.model !== "") size += str(r.model, true);
  if (r.modelVersion !== "") size += str(r.modelVersion, true);
  if (r.route !== 0) size += 1 + enumSize(r.route);
  if (r.entityId !== "") size += str(r.entityId, false);
  const refs = refBlock(r.featureRefs);
  size += refs.length;
  const valueSizes = r.featureValues.map(valueSize);
  for (const n of valueSizes) size += 1 + varintSize(n) + n;
  let statusBytes = 0;
  for (const s of r.featureStatuses) statusBytes += enumSize(s);
  if (r.featureStatuses.length > 0) size += 1 + varintSize(statusBytes) + statusBytes;
  const writeScore = r.score !== 0 || Object.is(r.score, -0);
  if (writeScore) size += 9;
  if (r.decision) size += 2;
  const outputSizes = r.outputs.map(outputSize);
  for (const n of outputSizes) size += 1 + varintSize(n) + n;
  if (r.latencyUs !== 0) size += 1 + varintSize(r.latencyUs);
  if (r.degraded) size += 2;

  const w = new Out(Buffer.allocUnsafe(size));
  if (r.requestId !== "") w.string(1, r.requestId, utf8Length(r.requestId));
  if (r.timeMs !== 0n) {
    w.byte(2 << 3);
    w.varint64(r.timeMs);
  }
  if (r.model !== "") w.bytes(3, cached(r.model));
  if (r.modelVersion !== "") w.bytes(4, cached(r.modelVersion));
  if (r.route !== 0) {
    w.byte(5 << 3);
    w.enumValue(r.route);
  }
  if (r.entityId !== "") w.string(6, r.entityId, utf8Length(r.entityId));
  refs.copy(w.buf, w.pos);
  w.pos += refs.length;
  r.featureValues.forEach((v, i) => {
    w.byte((8 << 3) | 2);
    w.varint(valueSizes[i] as number);
    const kind = v.kind;
    switch (kind.case) {
      case "number":
        w.byte((1 << 3) | 1);
        w.double(kind.value);
        break;
      case "text":
        w.string(2, kind.value, utf8Length(kind.value));
        break;
      case "flag":
        w.byte(3 << 3);
        w.byte(kind.value ? 1 : 0);
        break;
      case "integer":
        w.byte(4 << 3);
        w.varint64(kind.value);
        break;
      default:
        break;
    }
  });
  if (r.featureStatuses.length > 0) {
    w.byte((9 << 3) | 2);
    w.varint(statusBytes);
    for (const s of r.featureStatuses) w.enumValue(s);
  }
  if (writeScore) {
    w.byte((10 << 3) | 1);
    w.double(r.score);
  }
  if (r.decision) {
    w.byte(11 << 3);
    w.byte(1);
  }
  r.outputs.forEach((o, i) => {
    w.byte((12 << 3) | 2);
    w.varint(outputSizes[i] as number);
    if (o.name !== "") w.bytes(1, cached(o.name));
    if (o.values.length > 0) {
      w.byte((2 << 3) | 2);
      w.varint(8 * o.values.length);
      for (const x of o.values) w.double(x);
    }
  });
  if (r.latencyUs !== 0) {
    w.byte(13 << 3);
    w.varint(r.latencyUs);
  }
  if (r.degraded) {
    w.byte(14 << 3);
    w.byte(1);
  }
  return w.buf;
}
