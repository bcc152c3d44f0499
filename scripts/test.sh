#!/usr/bin/env bash
# `make test`: on a fresh machine, installs what is missing, checks the build, starts the real local
# stack (Kafka, Redis, ClickHouse from infra/local), applies migrations, and runs every test once.
# The stack is left running for the next run (stop it with `make down`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$PWD/.tools/node/bin:$PATH"
started=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }

step "toolchain"
./scripts/bootstrap.sh >/dev/null
node --version
step "dependencies (pnpm install --frozen-lockfile)"
pnpm install --frozen-lockfile --reporter=append-only | tail -3
step "generated code is up to date"
./scripts/check-generated.sh
step "type-check (tsc --build, and the benchmarks)"
pnpm exec tsc --build
pnpm exec tsc -p bench # not a project reference: it emits nothing and nothing depends on it
step "lint (typed: no floating promises)"
pnpm exec eslint .
step "local stack (infra/local/stack.sh up)"
infra/local/stack.sh up
step "migrations"
pnpm exec tsx --conditions=@loopline/source packages/cli/src/main.ts migrate
step "tools two tests run (promtool; the external trainer example's Python packages)"
./scripts/promtool.sh
./scripts/python-env.sh trainer examples/external-trainer/requirements.txt
step "tests (unit + integration, node:test)"
node scripts/run-tests.mjs all
step "done in $(( $(date +%s) - started ))s"
