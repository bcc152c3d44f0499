import { LooplineError } from "@loopline/kit";

/** Why a registry request was refused; each maps to one gRPC status at the boundary. */
export type RegistryErrorCode = "INVALID_ARGUMENT" | "NOT_FOUND" | "FAILED_PRECONDITION" | "ABORTED" | "UNAVAILABLE";

/** A request the registry refuses: the message names the field or the state at fault. */
export class RegistryError extends LooplineError {
  override name = "RegistryError";

  constructor(code: RegistryErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** INVALID_ARGUMENT naming the field at fault. */
export function invalidArgument(field: string, problem: string): RegistryError {
  return new RegistryError("INVALID_ARGUMENT", `${field}: ${problem}`);
}

/** A stored artifact whose bytes no longer hash to their address: reported, never served. */
export class ArtifactCorruptedError extends LooplineError {
  override name = "ArtifactCorruptedError";
  /** The address asked for. */
  readonly sha256: string;
  /** What the stored bytes hash to now. */
  readonly actualSha256: string;

  constructor(sha256: string, actualSha256: string) {
    super("INTERNAL", `artifact ${sha256} is corrupted: its stored bytes hash to ${actualSha256}`);
    this.sha256 = sha256;
    this.actualSha256 = actualSha256;
  }
}
