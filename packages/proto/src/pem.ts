import { readFileSync } from "node:fs";

/** Reads a PEM given as a file path; Buffers are taken as the PEM contents. */
export function pem(value: string | Buffer): Buffer;
/** Reads a PEM given as a file path; Buffers are taken as the PEM contents; undefined gives null. */
export function pem(value: string | Buffer | undefined): Buffer | null;
export function pem(value: string | Buffer | undefined): Buffer | null {
  if (value === undefined) {
    return null;
  }
  return typeof value === "string" ? readFileSync(value) : value;
}
