# Loopline — every target runs on the Node 24 toolchain that scripts/bootstrap.sh provides.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/.tools/node/bin:$(PATH)
export ONNXRUNTIME_NODE_INSTALL := skip
STACK := infra/local/stack.sh

.PHONY: help tools install build lint generate check-generated up down status stack-up migrate test test-unit test-integration bench demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

tools: ## install Node 24 and pnpm into .tools/ when missing
	@./scripts/bootstrap.sh >/dev/null

node_modules/.modules.yaml: pnpm-lock.yaml package.json | tools
	pnpm install --frozen-lockfile
	@touch $@

install: tools node_modules/.modules.yaml ## install dependencies from the lockfile

build: install ## compile every package (tsc --build)
	pnpm exec tsc --build

lint: install ## typed lint (no floating promises)
	pnpm exec eslint .

generate: install ## regenerate packages/proto/src/gen from proto/
	pnpm exec buf generate

check-generated: install ## fail when proto/ and the committed generated code disagree
	@./scripts/check-generated.sh

stack-up: install
	@$(STACK) up

up: stack-up migrate build ## start Kafka, Redis, ClickHouse and every service locally
	@infra/local/services.sh up
	@$(STACK) status
	@infra/local/services.sh status

down: ## stop everything `make up` started (services first, then the servers)
	@infra/local/services.sh down
	@$(STACK) down

status: ## show what is running
	@$(STACK) status
	@infra/local/services.sh status

migrate: install ## apply ClickHouse migrations from infra/clickhouse/
	pnpm exec tsx --conditions=@loopline/source packages/cli/src/main.ts migrate

test-unit: install ## unit tests only (no servers)
	node scripts/run-tests.mjs unit

test-integration: stack-up ## integration tests against the real local stack
	node scripts/run-tests.mjs integration

test: install ## the whole suite on a fresh machine: install, check, start the stack, run every test
	@./scripts/test.sh

bench: stack-up ## the benchmarks, baselines measured in the same run
	@./scripts/python-env.sh drift packages/drift/fixtures/requirements.txt
	@./scripts/python-env.sh trainer examples/external-trainer/requirements.txt
	node --conditions=@loopline/source --import tsx bench/run.ts

demo: stack-up build ## the fraud-detection demo through the whole loop (about 3 minutes once installed; Ctrl-C stops it cleanly)
	node --conditions=@loopline/source --import tsx demo/src/main.ts

clean: ## remove build output (keeps .tools and .loopline)
	rm -rf packages/*/dist services/*/dist
