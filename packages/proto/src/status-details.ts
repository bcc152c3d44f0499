import { Metadata } from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { StatusSchema } from "./gen/google/rpc/status_pb.js";

/** The trailer that carries a serialized google.rpc.Status next to grpc-status and grpc-message. */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

/** Adds the `grpc-status-details-bin` trailer for a status with typed details; a no-op without details. */
export function writeStatusDetails(trailer: Metadata, code: number, message: string, details: readonly Any[]): void {
  if (details.length === 0) {
    return;
  }
  const bytes = toBinary(StatusSchema, create(StatusSchema, { code, message, details: [...details] }));
  trailer.set(STATUS_DETAILS_KEY, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** The typed details of a `grpc-status-details-bin` trailer; empty when absent or unreadable. */
export function readStatusDetails(trailer: Metadata): Any[] {
  const value = trailer.get(STATUS_DETAILS_KEY)[0];
  if (!(value instanceof Uint8Array)) {
    return [];
  }
  try {
    return fromBinary(StatusSchema, value).details;
  } catch {
    // A peer sent garbage in the trailer: the status code and message still stand on their own.
    return [];
  }
}
