// Public API of @loopline/signature: the model contract (loopline.v1.ModelSignature) as code.
// The trainer encodes training rows and the inference service encodes serving rows through the
// same compiled encoder, so the two cannot disagree on column order, one-hot layout or defaults.

export { SignatureError } from "./errors.js";
export type { SignatureErrorCode } from "./errors.js";
export { categoryKey, compileSignature, decide, isMissing } from "./signature.js";
export type { CompiledInput, CompileOptions, NonFinitePolicy, SignatureEncoder } from "./signature.js";
