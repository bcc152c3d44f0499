#!/usr/bin/env bash
# Fails when the generated protobuf code committed under packages/proto/src/gen does not match
# what `buf generate` produces from proto/ now. Generates into a temporary directory, so the
# working tree is never touched. Expects node_modules installed (`make install`).
set -euo pipefail

cd "$(dirname "$0")/.."
committed="packages/proto/src/gen"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# --output re-roots every plugin's `out`, so the fresh copy lands in $scratch/$committed.
pnpm exec buf generate --output "$scratch"

if ! diff -r -u "$scratch/$committed" "$committed" >"$scratch/diff.txt"; then
  cat "$scratch/diff.txt" >&2
  echo "generated code is stale: run make generate" >&2
  exit 1
fi
echo "generated code is up to date"
