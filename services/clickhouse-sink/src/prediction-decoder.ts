import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { float, millis, pushValue, seconds, type RecordOrigin, type Row } from "./rows.js";

/**
 * loopline.v1.PredictionRecord bytes → a `predictions` row, read straight off the wire. Every
 * prediction crosses this function once; protobuf-es' reflective fromBinary plus a mapping pass costs
 * several times more. Tests pin it to fromBinary on the same bytes, packed and unpacked encodings alike.
 */
// Hot path: guarded by bench/sink.bench.ts (predictions/s into ClickHouse).

// Field numbers of loopline.v1.PredictionRecord, ModelOutput and FeatureValue (proto/loopline/v1/*.proto).
const P_REQUEST_ID = 1, P_TIME_MS = 2, P_MODEL = 3, P_MODEL_VERSION = 4, P_ROUTE = 5, P_ENTITY_ID = 6, P_FEATURE_REFS = 7;
const P_FEATURE_VALUES = 8, P_FEATURE_STATUSES = 9, P_SCORE = 10, P_DECISION = 11, P_OUTPUTS = 12, P_LATENCY_US = 13, P_DEGRADED = 14;
const O_NAME = 1, O_VALUES = 2;
const V_NUMBER = 1, V_TEXT = 2, V_FLAG = 3, V_INTEGER = 4;

/** Route enum values by number, as stored in the `route` column. */
export const ROUTE_NAMES: readonly string[] = ["unspecified", "production", "canary", "shadow"];

function readValue(r: BinaryReader, end: number): number | string | boolean | null {
  let v: number | string | boolean | null = null;
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === V_NUMBER && wt === WireType.Bit64) v = r.double();
    else if (no === V_TEXT && wt === WireType.LengthDelimited) v = r.string();
    else if (no === V_FLAG && wt === WireType.Varint) v = r.bool();
    else if (no === V_INTEGER && wt === WireType.Varint) v = Number(r.int64());
    else r.skip(wt, no);
  }
  return v;
}

function readOutput(r: BinaryReader, end: number, names: string[], values: (number | string)[]): void {
  let name = "";
  const own: number[] = [];
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === O_NAME && wt === WireType.LengthDelimited) name = r.string();
    else if (no === O_VALUES && wt === WireType.LengthDelimited) {
      const stop = r.uint32() + r.pos;
      while (r.pos < stop) own.push(r.double());
    } else if (no === O_VALUES && wt === WireType.Bit64) own.push(r.double());
    else r.skip(wt, no);
  }
  // A one-value output keeps its name; a tensor's elements become name[0], name[1], ...
  if (own.length === 1) {
    names.push(name);
    values.push(float(own[0] as number));
  } else {
    for (let i = 0; i < own.length; i++) {
      names.push(`${name}[${i}]`);
      values.push(float(own[i] as number));
    }
  }
}

/**
 * Decodes a PredictionRecord into a `predictions` row; throws on malformed bytes (truncated fields,
 * bad wire types). Unknown fields are skipped. `ingestedAt` is DateTime seconds.
 */
export function decodePredictionRow(bytes: Uint8Array, origin: RecordOrigin, ingestedAt: number): Row {
  const r = new BinaryReader(bytes);
  let requestId = "", model = "", modelVersion = "", entityId = "";
  let timeMs = 0, route = 0, score = 0, decision = false, latencyUs = 0, degraded = false;
  const refs: string[] = [];
  const columns = { numbers: [] as (number | string)[], strings: [] as string[] };
  const statuses: number[] = [];
  const outputNames: string[] = [];
  const outputValues: (number | string)[] = [];
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (wt === WireType.LengthDelimited) {
      switch (no) {
        case P_REQUEST_ID: requestId = r.string(); continue;
        case P_MODEL: model = r.string(); continue;
        case P_MODEL_VERSION: modelVersion = r.string(); continue;
        case P_ENTITY_ID: entityId = r.string(); continue;
        case P_FEATURE_REFS: refs.push(r.string()); continue;
        case P_FEATURE_VALUES: {
          const end = r.uint32() + r.pos;
          pushValue(columns, readValue(r, end));
          continue;
        }
        case P_FEATURE_STATUSES: {
          const end = r.uint32() + r.pos;
          while (r.pos < end) statuses.push(r.int32());
          continue;
        }
        case P_OUTPUTS: {
          const end = r.uint32() + r.pos;
          readOutput(r, end, outputNames, outputValues);
          continue;
        }
      }
    } else if (wt === WireType.Varint) {
      switch (no) {
        case P_TIME_MS: timeMs = Number(r.int64()); continue;
        case P_ROUTE: route = r.int32(); continue;
        case P_FEATURE_STATUSES: statuses.push(r.int32()); continue;
        case P_DECISION: decision = r.bool(); continue;
        case P_LATENCY_US: latencyUs = r.uint32(); continue;
        case P_DEGRADED: degraded = r.bool(); continue;
      }
    } else if (wt === WireType.Bit64 && no === P_SCORE) {
      score = r.double();
      continue;
    }
    r.skip(wt, no);
  }
  if (r.pos !== r.len) throw new RangeError("premature end of PredictionRecord");
  return {
    request_id: requestId,
    time: seconds(timeMs),
    time_ms: millis(timeMs),
    model,
    model_version: modelVersion,
    route: ROUTE_NAMES[route] ?? String(route),
    entity_id: entityId,
    feature_refs: refs,
    feature_numbers: columns.numbers,
    feature_strings: columns.strings,
    // Statuses are Feast's numbers (0–4); anything else is kept as 0 rather than overflowing UInt8.
    feature_statuses: statuses.map((s) => (s >= 0 && s <= 255 ? s : 0)),
    score: float(score),
    decision: decision ? 1 : 0,
    output_names: outputNames,
    output_values: outputValues,
    latency_us: latencyUs,
    degraded: degraded ? 1 : 0,
    source_partition: origin.partition,
    source_offset: origin.offset,
    ingested_at: ingestedAt,
  };
}
