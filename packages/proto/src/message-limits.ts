/**
 * The default message size limit of Loopline's gRPC clients and servers (both directions): batched
 * ONNX tensors outgrow gRPC's 4 MiB default receive limit.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
