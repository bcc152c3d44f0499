import { resolve } from "node:path";
import { commonConfigSchema, ConfigError, defineConfig, loadConfig, type ConfigOf } from "@loopline/kit";

/** The registry's environment: the shared variables plus its own. */
export const registryConfigSchema = defineConfig({
  ...commonConfigSchema,
  grpcHost: { type: "string", env: "LOOPLINE_REGISTRY_GRPC_HOST", default: "127.0.0.1", doc: "interface the gRPC server binds (0.0.0.0 in containers)" },
  grpcPort: { type: "int", env: "LOOPLINE_REGISTRY_GRPC_PORT", min: 0, max: 65535, default: 50053, doc: "gRPC port of loopline.v1.ModelRegistry" },
  adminPort: { type: "int", env: "LOOPLINE_REGISTRY_ADMIN_PORT", min: 0, max: 65535, default: 9404, doc: "admin HTTP port (/metrics, /healthz, /readyz)" },
  artifactDir: { type: "string", env: "LOOPLINE_REGISTRY_ARTIFACT_DIR", default: ".loopline/artifacts", doc: "folder of the content-addressed ONNX artifacts (relative paths from the working directory)" },
  token: { type: "string", env: "LOOPLINE_REGISTRY_TOKEN", default: "", doc: "when set, writing RPCs need `authorization: Bearer <token>`; reads stay open" },
  tlsCert: { type: "string", env: "LOOPLINE_REGISTRY_TLS_CERT", default: "", doc: "PEM certificate chain file; with the key, the gRPC server speaks TLS" },
  tlsKey: { type: "string", env: "LOOPLINE_REGISTRY_TLS_KEY", default: "", doc: "PEM private key file of the TLS certificate" },
  maxArtifactBytes: { type: "int", env: "LOOPLINE_REGISTRY_MAX_ARTIFACT_BYTES", min: 1, default: 256 * 1024 * 1024, doc: "largest ONNX file accepted" },
  replayTimeoutMs: { type: "duration", env: "LOOPLINE_REGISTRY_REPLAY_TIMEOUT", default: 60_000, doc: "how long start-up may take to read loopline.models to its end" },
});

/** The registry's typed configuration. */
export type RegistryConfig = ConfigOf<typeof registryConfigSchema>;

/** Reads the registry's configuration from an env object; the artifact folder is resolved against `cwd`. */
export function loadRegistryConfig(env: Readonly<Record<string, string | undefined>>, cwd: string = process.cwd()): RegistryConfig {
  const config = loadConfig(registryConfigSchema, env);
  if ((config.tlsCert === "") !== (config.tlsKey === "")) {
    const missing = config.tlsCert === "" ? "LOOPLINE_REGISTRY_TLS_CERT" : "LOOPLINE_REGISTRY_TLS_KEY";
    throw new ConfigError([{ variable: missing, problem: "TLS needs both LOOPLINE_REGISTRY_TLS_CERT and LOOPLINE_REGISTRY_TLS_KEY" }]);
  }
  return { ...config, artifactDir: resolve(cwd, config.artifactDir) };
}
