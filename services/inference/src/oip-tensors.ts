// Conversion between the Open Inference Protocol's tensors (datatype strings, typed contents or
// raw little-endian bytes) and onnxruntime's typed arrays, with the checks a client needs to hear
// about: wrong datatype, wrong shape, wrong element count, NaN.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { InferTensorContents, InferTensorContentsSchema } from "@loopline/proto/gen/inference/grpc_service_pb.js";
import { invalidArgument } from "./errors.js";
import { allocate, elementCount, type ElementType, type TensorData, type TensorSpec } from "./tensor.js";

/** The protocol's datatype for each onnxruntime element type. */
export const DATATYPE_OF: Partial<Record<ElementType, string>> = {
  bool: "BOOL",
  uint8: "UINT8",
  uint16: "UINT16",
  uint32: "UINT32",
  uint64: "UINT64",
  int8: "INT8",
  int16: "INT16",
  int32: "INT32",
  int64: "INT64",
  float16: "FP16",
  float32: "FP32",
  float64: "FP64",
  string: "BYTES",
};

const BYTES_PER: Record<string, number> = {
  BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2, UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8,
};
const FLOATS = new Set(["FP32", "FP64"]);
const INTEGERS = new Set(["INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"]);

/** Which client datatypes a model element type accepts (converted exactly or widened). */
function accepts(target: ElementType, datatype: string): boolean {
  const own = DATATYPE_OF[target];
  if (own === datatype) return true;
  switch (target) {
    case "float32":
    case "float64":
      return FLOATS.has(datatype) || INTEGERS.has(datatype) || datatype === "BOOL";
    case "int64":
    case "int32":
      return INTEGERS.has(datatype) || datatype === "BOOL";
    default:
      return false;
  }
}

/** Values of a decoded input before conversion: numbers, bigints, booleans or byte strings. */
type Source = ArrayLike<number> | ArrayLike<bigint> | readonly boolean[] | readonly Uint8Array[];

function rawView(datatype: string, raw: Uint8Array, count: number, name: string): Source {
  if (datatype === "BYTES") {
    const items: Uint8Array[] = [];
    let at = 0;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    while (at < raw.byteLength) {
      if (at + 4 > raw.byteLength) throw invalidArgument(`input ${name}: raw BYTES element ${items.length} has a truncated length prefix`);
      const length = view.getUint32(at, true);
      at += 4;
      if (at + length > raw.byteLength) throw invalidArgument(`input ${name}: raw BYTES element ${items.length} is longer than the raw content`);
      items.push(raw.subarray(at, at + length));
      at += length;
    }
    if (items.length !== count) throw invalidArgument(`input ${name}: shape needs ${count} BYTES elements, raw content has ${items.length}`);
    return items;
  }
  const size = BYTES_PER[datatype] as number;
  if (raw.byteLength !== count * size) {
    throw invalidArgument(`input ${name}: shape needs ${count} ${datatype} elements = ${count * size} raw bytes, got ${raw.byteLength}`);
  }
  // Typed arrays need aligned offsets; protobuf hands out views into the request buffer, so copy
  // when misaligned. Raw contents are little-endian, as is every platform onnxruntime-node ships for.
  const bytes = raw.byteOffset % size === 0 ? raw : new Uint8Array(raw); // a copy (Buffer#slice would be a view)
  const { buffer, byteOffset } = bytes;
  switch (datatype) {
    case "BOOL":
      return Array.from(bytes, (b) => b !== 0);
    case "UINT8":
      return bytes;
    case "INT8":
      return new Int8Array(buffer, byteOffset, count);
    case "UINT16":
      return new Uint16Array(buffer, byteOffset, count);
    case "INT16":
      return new Int16Array(buffer, byteOffset, count);
    case "UINT32":
      return new Uint32Array(buffer, byteOffset, count);
    case "INT32":
      return new Int32Array(buffer, byteOffset, count);
    case "FP32":
      return new Float32Array(buffer, byteOffset, count);
    case "FP64":
      return new Float64Array(buffer, byteOffset, count);
    case "UINT64":
      return new BigUint64Array(buffer, byteOffset, count);
    case "INT64":
      return new BigInt64Array(buffer, byteOffset, count);
    default:
      throw invalidArgument(`input ${name}: raw contents of datatype ${datatype} are not supported`);
  }
}

function typedView(datatype: string, contents: InferTensorContents | undefined, count: number, name: string): Source {
  let values: Source;
  let field: string;
  switch (datatype) {
    case "BOOL":
      [values, field] = [contents?.boolContents ?? [], "bool_contents"];
      break;
    case "INT8":
    case "INT16":
    case "INT32":
      [values, field] = [contents?.intContents ?? [], "int_contents"];
      break;
    case "INT64":
      [values, field] = [contents?.int64Contents ?? [], "int64_contents"];
      break;
    case "UINT8":
    case "UINT16":
    case "UINT32":
      [values, field] = [contents?.uintContents ?? [], "uint_contents"];
      break;
    case "UINT64":
      [values, field] = [contents?.uint64Contents ?? [], "uint64_contents"];
      break;
    case "FP32":
      [values, field] = [contents?.fp32Contents ?? [], "fp32_contents"];
      break;
    case "FP64":
      [values, field] = [contents?.fp64Contents ?? [], "fp64_contents"];
      break;
    case "BYTES":
      [values, field] = [contents?.bytesContents ?? [], "bytes_contents"];
      break;
    default:
      throw invalidArgument(`input ${name}: typed contents of datatype ${datatype} are not supported; send raw_input_contents`);
  }
  if (values.length !== count) throw invalidArgument(`input ${name}: shape needs ${count} elements in ${field}, got ${values.length}`);
  return values;
}

/** Options of decodeInput. */
export interface DecodeInput {
  /** The model's declaration of the input. */
  spec: TensorSpec;
  /** Client's datatype string. */
  datatype: string;
  /** Client's shape. */
  shape: readonly bigint[];
  /** Typed contents (when raw is undefined). */
  contents: InferTensorContents | undefined;
  /** Raw bytes of this input, when the request used raw_input_contents. */
  raw: Uint8Array | undefined;
  /** "reject" refuses NaN/±Infinity in floating inputs. */
  nonFinite: "reject" | "keep";
}

/**
 * Checks an input against the model's declaration and converts it to the model's element type.
 * Throws INVALID_ARGUMENT stating what was expected and what was given.
 */
export function decodeInput(input: DecodeInput): { data: TensorData; dims: number[] } {
  const { spec, datatype, shape } = input;
  const name = spec.name;
  const expectedType = DATATYPE_OF[spec.type] ?? spec.type;
  if (!(datatype in BYTES_PER) && datatype !== "BYTES") throw invalidArgument(`input ${name}: unknown datatype ${JSON.stringify(datatype)}`);
  if (!accepts(spec.type, datatype)) throw invalidArgument(`input ${name}: datatype ${datatype} given, the model takes ${expectedType}`);
  const dims = shape.map(Number);
  const declared = `[${spec.dims.join(", ")}]`;
  const shapeOk = dims.length === spec.dims.length && dims.every((d, i) => Number.isSafeInteger(d) && d >= 0 && (spec.dims[i] === -1 || spec.dims[i] === d));
  if (!shapeOk) throw invalidArgument(`input ${name}: shape [${dims.join(", ")}] given, the model takes ${declared} (-1 = any)`);
  const count = elementCount(dims);
  const source = input.raw !== undefined ? rawView(datatype, input.raw, count, name) : typedView(datatype, input.contents, count, name);
  const data = convert(spec.type, source, count);
  if (input.nonFinite === "reject" && (data instanceof Float32Array || data instanceof Float64Array)) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) throw invalidArgument(`input ${name}: element ${i} is ${String(data[i])}; NaN and infinities are rejected`);
    }
  }
  return { data, dims };
}

function convert(target: ElementType, source: Source, count: number): TensorData {
  if (target === "string") {
    return Array.from(source as readonly Uint8Array[], (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8"));
  }
  // Already the right typed array (raw FP32 into a float32 input): use it as is.
  if (target === "float32" && source instanceof Float32Array) return source;
  if (target === "float64" && source instanceof Float64Array) return source;
  if (target === "int64" && source instanceof BigInt64Array) return source;
  const out = allocate(target, count);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) {
      const v = (source as ArrayLike<unknown>)[i];
      out[i] = typeof v === "bigint" ? v : BigInt(typeof v === "boolean" ? Number(v) : (v as number));
    }
    return out;
  }
  const numeric = out as Float32Array;
  for (let i = 0; i < count; i++) {
    const v = (source as ArrayLike<unknown>)[i];
    numeric[i] = typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : v === true ? 1 : 0;
  }
  return numeric;
}

/** One output in the protocol's form: typed contents, or raw bytes when the client sent raw inputs. */
export function encodeOutput(type: ElementType, data: TensorData, raw: boolean): { datatype: string; contents?: MessageInitShape<typeof InferTensorContentsSchema>; raw?: Uint8Array } {
  const datatype = DATATYPE_OF[type] ?? type.toUpperCase();
  if (raw) {
    if (Array.isArray(data)) {
      const parts = data.map((s) => Buffer.from(s, "utf8"));
      const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.writeUInt32LE(p.length, at);
        p.copy(out, at + 4);
        at += 4 + p.length;
      }
      return { datatype, raw: out };
    }
    return { datatype, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }
  switch (datatype) {
    case "FP32":
      return { datatype, contents: { fp32Contents: Array.from(data as Float32Array) } };
    case "FP64":
      return { datatype, contents: { fp64Contents: Array.from(data as Float64Array) } };
    case "INT64":
      return { datatype, contents: { int64Contents: Array.from(data as BigInt64Array) } };
    case "UINT64":
      return { datatype, contents: { uint64Contents: Array.from(data as BigUint64Array) } };
    case "INT8":
    case "INT16":
    case "INT32":
      return { datatype, contents: { intContents: Array.from(data as Int32Array) } };
    case "UINT8":
    case "UINT16":
    case "UINT32":
      return { datatype, contents: { uintContents: Array.from(data as Uint32Array) } };
    case "BOOL":
      return { datatype, contents: { boolContents: Array.from(data as Uint8Array, (b) => b !== 0) } };
    case "BYTES":
      return { datatype, contents: { bytesContents: (data as string[]).map((s) => Buffer.from(s, "utf8")) } };
    default:
      return { datatype, raw: new Uint8Array((data as Uint16Array).buffer, (data as Uint16Array).byteOffset, (data as Uint16Array).byteLength) };
  }
}
