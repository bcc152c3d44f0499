import type { Tensor } from "onnxruntime-node";

/** An onnxruntime element type ("float32", "int64", "string", ...). */
export type ElementType = Tensor.Type;

/** Element data of one tensor in onnxruntime's representation for its type. */
export type TensorData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | string[];

/** A model input or output as the model declares it; -1 marks a dimension the model leaves open. */
export interface TensorSpec {
  /** ONNX tensor name. */
  readonly name: string;
  /** onnxruntime element type. */
  readonly type: ElementType;
  /** Declared shape; -1 for symbolic or unknown dimensions. */
  readonly dims: readonly number[];
}

/** A tensor to feed or read: element type, row-major data, shape. */
export interface HostTensor {
  readonly type: ElementType;
  readonly data: TensorData;
  readonly dims: readonly number[];
}

/** Product of dimensions (1 for a scalar). */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Allocates zeroed data of a type (strings: empty strings). */
export function allocate(type: ElementType, count: number): TensorData {
  switch (type) {
    case "float32":
      return new Float32Array(count);
    case "float64":
      return new Float64Array(count);
    case "int64":
      return new BigInt64Array(count);
    case "uint64":
      return new BigUint64Array(count);
    case "int32":
      return new Int32Array(count);
    case "uint32":
      return new Uint32Array(count);
    case "int16":
      return new Int16Array(count);
    case "uint16":
    case "float16":
      return new Uint16Array(count);
    case "int8":
      return new Int8Array(count);
    case "uint8":
    case "bool":
      return new Uint8Array(count);
    case "string":
      return new Array<string>(count).fill("");
    default:
      throw new TypeError(`unsupported element type ${type}`);
  }
}

/** Copies `source` into `target` at element offset `offset` (same element type). */
export function copyInto(target: TensorData, source: TensorData, offset: number): void {
  if (Array.isArray(target)) {
    const src = source as string[];
    for (let i = 0; i < src.length; i++) target[offset + i] = src[i] as string;
    return;
  }
  (target as Float32Array).set(source as Float32Array, offset);
}

/** Elements [start, end) of data; typed arrays are viewed, not copied. */
export function sliceView(data: TensorData, start: number, end: number): TensorData {
  return Array.isArray(data) ? data.slice(start, end) : (data.subarray(start, end) as TensorData);
}
