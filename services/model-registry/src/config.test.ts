import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "@loopline/kit";
import { loadRegistryConfig } from "./config.js";

test("defaults: port 50053, admin 9404, artifacts under .loopline/artifacts of the working directory, no token, plaintext", () => {
  const config = loadRegistryConfig({}, "/srv/loopline");
  assert.equal(config.grpcPort, 50053);
  assert.equal(config.adminPort, 9404);
  assert.equal(config.artifactDir, "/srv/loopline/.loopline/artifacts");
  assert.equal(config.token, "");
  assert.equal(config.tlsCert, "");
  assert.equal(config.topicPrefix, "loopline.");
});

test("blank values count as unset; absolute artifact folders are kept", () => {
  const config = loadRegistryConfig({ LOOPLINE_REGISTRY_TOKEN: "  ", LOOPLINE_REGISTRY_ARTIFACT_DIR: "/data/artifacts" }, "/x");
  assert.equal(config.token, "");
  assert.equal(config.artifactDir, "/data/artifacts");
});

test("bad values name the variable", () => {
  assert.throws(() => loadRegistryConfig({ LOOPLINE_REGISTRY_GRPC_PORT: "http" }), (err: unknown) => err instanceof ConfigError && /LOOPLINE_REGISTRY_GRPC_PORT/.test(err.message));
  assert.throws(() => loadRegistryConfig({ LOOPLINE_REGISTRY_TLS_CERT: "/tls/cert.pem" }), (err: unknown) => err instanceof ConfigError && /LOOPLINE_REGISTRY_TLS_KEY/.test(err.message));
});
