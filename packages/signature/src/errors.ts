/** Why a signature or a value could not be encoded. */
export type SignatureErrorCode = "INVALID_SIGNATURE" | "MISSING_FEATURE" | "NON_FINITE_VALUE" | "TYPE_MISMATCH";

/**
 * A signature is malformed, or a value cannot be encoded under it. `feature` names the input at
 * fault so a serving layer can answer FAILED_PRECONDITION / INVALID_ARGUMENT naming it.
 */
export class SignatureError extends Error {
  override readonly name = "SignatureError";
  /** Stable machine-readable code. */
  readonly code: SignatureErrorCode;
  /** The feature ref at fault, when one is. */
  readonly feature: string | undefined;

  constructor(code: SignatureErrorCode, message: string, feature?: string) {
    super(message);
    this.code = code;
    this.feature = feature;
  }
}
