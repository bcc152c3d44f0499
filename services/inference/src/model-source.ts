import type { ModelVersion } from "@loopline/proto/gen/loopline/v1/registry_pb.js";

/**
 * Where model versions come from. The inference service only needs two things of a source: the
 * state of every version (stage, signature, serving config) as it changes, and a version's ONNX
 * bytes. The registry (ModelRegistry.WatchChanges + GetArtifact) and a local folder implement it.
 */
export interface ModelSource {
  /** Short name for logs, e.g. "registry 127.0.0.1:50053" or "folder ./models". */
  readonly description: string;
  /**
   * Starts following changes. `onVersion` receives the full current state of a version each time
   * it changes (the registry's snapshot), in change order. Resolves once the state that existed at
   * start has been delivered, so a caller can tell when it has caught up; later changes keep coming
   * until close().
   */
  start(onVersion: (version: ModelVersion) => void): Promise<void>;
  /** The version's ONNX bytes. */
  fetchArtifact(model: string, version: string, signal?: AbortSignal): Promise<Uint8Array>;
  /** Stops following. */
  close(): Promise<void>;
}
