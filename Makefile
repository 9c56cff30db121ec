# Orders pipeline: `make help` lists every target. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
CDK := $(CURDIR)/node_modules/.bin/cdk
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
MINISTACK_STAMP := .venv-ministack/.installed
CDK_OUT := cdk/cdk.out

EMULATOR ?= embedded
# EMULATOR_PORT: `make local-up EMULATOR_PORT=4600` starts there and remembers it in .local/endpoint
# for the commands that follow until `make local-down`; set on any command, it wins.

.PHONY: help setup lint test check test-embedded test-e2e-ministack unit mutation local-reset synth deploy destroy clean up local-up local-down deploy-local watch smoke url env logs mail alarms iam-report fire console bench e2e dlq-redrive load load-ui

help: ## Show this help
	@grep -hE '^[a-z][a-zA-Z0-9_-]*:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

setup: $(PY_STAMP) $(NPM_STAMP) $(MINISTACK_STAMP) ## Create .venv (and .venv-ministack) and install Python and npm dependencies (idempotent)

$(PY_STAMP): pyproject.toml
	@echo "==> Python deps into $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[functions,cdk,emulator,workspace,e2e,load,dev]' 2>&1 | grep -v "^WARNING: Location" ; test $${PIPESTATUS[0]} -eq 0
	@touch $@

$(MINISTACK_STAMP): workspace/ministack-requirements.txt
	@echo "==> ministack into .venv-ministack (it pins botocore, so it has a venv of its own)"
	@test -x .venv-ministack/bin/python || $(PYTHON) -m venv .venv-ministack
	@.venv-ministack/bin/python -m pip install --quiet --disable-pip-version-check -r workspace/ministack-requirements.txt 2>&1 | grep -v "^WARNING: Location" ; test $${PIPESTATUS[0]} -eq 0
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	@echo "==> npm deps (CDK CLI, cdklocal) from package-lock.json"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

up: setup ## Everything local in one go: emulator, deploy, one smoke order; prints the API URL
	@$(MAKE) --no-print-directory local-up
	@$(PY) -m workspace deploy smoke url

local-up: setup ## Start the local AWS on 127.0.0.1 (port 4566, or EMULATOR_PORT, remembered; embedded keeps its state in .local/state): EMULATOR=embedded (default, no Docker) | ministack | localstack | floci
ifeq ($(EMULATOR),embedded)
	@$(PY) -m emulator.ctl start
else ifeq ($(EMULATOR),ministack)
	@$(PY) -m workspace.ministack start
else ifneq ($(filter $(EMULATOR),localstack floci),)
	@docker info >/dev/null 2>&1 || { echo "EMULATOR=$(EMULATOR) needs a running Docker engine (docker info failed); EMULATOR=embedded needs none" >&2; exit 2; }
	@if [ "$(EMULATOR)" = localstack ] && [ -z "$$LOCALSTACK_AUTH_TOKEN" ]; then echo "EMULATOR=localstack needs an account token: export LOCALSTACK_AUTH_TOKEN=<token from app.localstack.cloud> (HTTP APIs need a paid plan)" >&2; exit 2; fi
	docker compose --profile $(EMULATOR) up -d --wait
	@$(PY) -m emulator.ctl remember
	@echo "$(EMULATOR): ready on http://localhost:$(or $(EMULATOR_PORT),4566)"
else
	@echo "EMULATOR must be embedded, ministack, localstack or floci (got $(EMULATOR))" >&2; exit 2
endif

local-down: ## Stop the local AWS and everything it started (embedded, and compose targets when Docker runs)
	@$(if $(wildcard $(PY)),$(PY) -m emulator.ctl stop,echo "emulator: not running")
	@rm -rf .local/ministack/tmp
	@if docker info >/dev/null 2>&1; then docker compose --profile localstack --profile floci down; fi

local-reset: setup ## Start from nothing: wipe the running local target's state (every stack, queue, table), or the saved state in .local/state, and .local/outputs.json
	@$(PY) -m workspace reset

deploy-local: setup ## cdklocal bootstrap + deploy -c target=local to the running local target (skipped when nothing changed, FORCE=1 deploys anyway; HOTSWAP=1 puts code changes straight into the functions, without a synth when only functions/ changed), alarms to ALARM_EMAIL (default oncall@example.com, confirmed), HOT_RELOAD=1 runs functions/ live, CONTEXT="key=value ..." adds CDK context (docs/extending.md); a failed update is rolled back, data kept; outputs in .local/outputs.json
	@$(PY) -m workspace deploy

watch: setup ## Deploy, then hotswap each saved change under cdk/ or functions/ into the running local target (functions/ alone: no synth; else cdklocal deploy --hotswap-fallback), until Ctrl-C
	@$(PY) -m workspace watch

e2e: setup ## The end-to-end suite: E2E_TARGET=embedded (default; E2E_RESTORED=1: deployed, stopped, restarted from its saved state) | ministack | localstack | floci | aws (E2E_AWS=1)
	E2E_TARGET=$(or $(E2E_TARGET),embedded) $(VENV)/bin/pytest e2e -rs

dlq-redrive: setup ## Move every OrdersDlq message back to OrdersQueue (local; AWS=1 for the AWS stack)
	@$(PY) -m workspace.redrive $(if $(AWS),--aws)

load: setup ## Locust run + thresholds + reconciliation: SCENARIO=steady|read_heavy|spike|poison_mix USERS=20 SPAWN_RATE=10 DURATION=60s TARGET=embedded
	@$(PY) -m load.run $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(USERS),--users $(USERS)) \
		$(if $(SPAWN_RATE),--spawn-rate $(SPAWN_RATE)) $(if $(DURATION),--duration $(DURATION)) $(if $(TARGET),--target $(TARGET))

load-ui: setup ## Locust's web UI on http://127.0.0.1:8089 against the local deployment (run `make up` first)
	@eval "$$($(PY) -m workspace env)" && echo "API: $$API_URL" && \
		LOAD_QUEUE_URL=$$QUEUE_URL LOAD_AWS_ENDPOINT=$$AWS_ENDPOINT_URL \
		$(PY) -m locust -f load/locustfile.py --web-host 127.0.0.1 --host $$API_URL

bench: setup ## Benchmark the emulator, each feature's cost, ministack and plain moto (prints a table, writes .local/bench.json); ~20 min
	@$(PY) -m load.bench

smoke: setup ## One order through POST and GET on the local deployment
	@$(PY) -m workspace smoke

url: setup ## The local API's URL and ready curl lines (what `make up` prints last)
	@$(PY) -m workspace url

env: setup ## Print `export` lines for the AWS CLI/SDKs and awslocal against the local target: eval "$(make -s env)"
	@$(PY) -m workspace env

mail: setup ## The local mailbox (alarm emails and other SNS email), newest last; SHOW=n prints message n, SHOW=last the newest
	@$(PY) -m workspace mail $(if $(SHOW),--show $(SHOW))

alarms: setup ## Each alarm's state, since when and why (ALARM first)
	@$(PY) -m workspace alarms

iam-report: setup ## Per function: the actions its role was used for, and granted actions never used (of the services the emulator checks)
	@$(PY) -m workspace iam-report

console: setup ## The local console's links (embedded emulator): dashboards rendered from the recorded metrics, alarms, traces (one order's journey), log lines
	@$(PY) -m workspace console

fire: setup ## Fire a scheduled EventBridge rule now (embedded emulator): RULE=<name or part of it>, e.g. RULE=NightlyReport
	@$(PY) -m workspace fire --rule "$(RULE)"

logs: setup ## Follow a function's log: FUNCTION=create|process|get|access (default process) LINES=20 FOLLOW=0 to stop
	@$(PY) -m workspace logs --function $(or $(FUNCTION),process) --lines $(or $(LINES),20) $(if $(filter 0,$(FOLLOW)),--no-follow)

mutation: setup ## Mutation-test functions/ with mutmut (~4 min): prints the score and every surviving mutant
	@$(PY) -m tests.mutation

lint: setup ## ruff + mypy over every Python folder
	$(VENV)/bin/ruff check functions cdk emulator workspace e2e load tests
	$(VENV)/bin/ruff format --check functions cdk emulator workspace e2e load tests
	$(VENV)/bin/mypy functions cdk/orders_infra cdk/app.py emulator workspace e2e load

# Each run's output is also kept (.local/<target>.log), so a failure in the first run to end is named
# again at the very end.
TEST_RUNS := test-embedded test-e2e-ministack
TEST_LOGS := $(TEST_RUNS:%=.local/%.log)

test: setup ## Lint and every test, side by side: unit, CDK + cdk-nag, emulator, the update-vs-create harness and the e2e suite on an embedded emulator restarted from its saved state (three at a time), the e2e suite on ministack
	@rm -f $(TEST_LOGS)
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint $(TEST_RUNS) \
		|| { echo "== make test failed; the failures of both runs:"; grep -hE '^(FAILED|ERROR) ' $(TEST_LOGS); exit 1; }

# Three workers on two cores: a test waiting for a poller, an alarm period or a retry leaves its core to another.
test-embedded:
	@mkdir -p .local
	set -o pipefail; E2E_RESTORED=1 $(VENV)/bin/pytest -n 3 --durations=15 2>&1 | tee .local/$@.log

test-e2e-ministack:
	@mkdir -p .local
	set -o pipefail; E2E_TARGET=ministack $(VENV)/bin/pytest e2e -rs --durations=5 2>&1 | tee .local/$@.log

unit: setup ## Tests only, no lint
	$(VENV)/bin/pytest -n 2

check: lint ## The edit loop (~50–80 s): lint, then every test that starts no server (no emulator, no deploy); `make test` before you push
	$(VENV)/bin/pytest -n 2 -q -m "not integration and not e2e" tests

synth: setup ## Synthesize OrdersStack (with cdk-nag) into cdk/cdk.out; CDK_TARGET=aws|local
	cd cdk && $(CDK) synth --quiet -c target=$(or $(CDK_TARGET),aws) --output cdk.out
	@echo "Template: $(CDK_OUT)/OrdersStack.template.json"

deploy: setup ## Deploy OrdersStack to real AWS with plain `cdk` (needs AWS credentials; ALARM_EMAIL optional)
	cd cdk && $(CDK) deploy OrdersStack --require-approval broadening -c target=aws \
		$(if $(ALARM_EMAIL),-c alarmEmail=$(ALARM_EMAIL)) --outputs-file ../.local/aws-outputs.json

destroy: setup ## Delete the AWS stack (table and log groups are retained on AWS)
	cd cdk && $(CDK) destroy OrdersStack -c target=aws

clean: ## Remove build output (keeps .venv and node_modules)
	rm -rf $(CDK_OUT) .pytest_cache .mypy_cache .ruff_cache
