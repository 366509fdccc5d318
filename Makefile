# Chowline: `make run` serves the API on a local AWS emulator, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_READY := $(VENV)/.run-ready
READY := $(VENV)/.ready
PIP_INSTALL := $(VENV)/bin/pip install --quiet --disable-pip-version-check
GATES_VENV := .venv-gates
GATES_READY := $(GATES_VENV)/.ready
STAGE ?= prod
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: run emulator test lint package deploy gates gates-venv bench cost redrive clean browser

# `make run` installs what running needs (requirements-local.txt); the test tools
# (requirements-dev.txt) come with the targets that use them.
$(RUN_READY): requirements.txt requirements-local.txt
	@echo "· Setting up $(VENV) with what running needs (first run: about a minute)"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP_INSTALL) -r requirements-local.txt
	@touch $@

$(READY): $(RUN_READY) requirements-dev.txt
	@echo "· Installing the test tools into $(VENV)"
	@$(PIP_INSTALL) -r requirements-dev.txt
	@touch $@

run: $(RUN_READY) ## emulator + provisioning + demo data + event pipeline + API on 127.0.0.1:$${PORT:-8000}
	@$(PY) -m devtools.run

emulator: $(RUN_READY) ## the same without the API: pair it with `chalice local --stage local`
	@$(PY) -m devtools.run --no-api

lint: $(READY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Two pytest-xdist workers, each with its own session emulator; a test file is one unit of
# work unless it is marked `spread` (tests/conftest.py). TEST_PARALLEL= runs in one process.
TEST_PARALLEL ?= -n 2 --dist loadgroup --no-loadscope-reorder
test: $(READY) $(GATES_READY) lint browser ## every test and gate
	$(PY) -m pytest -q -p no:cacheprovider $(TEST_PARALLEL)

# The browser tests drive Debian's Chromium: installed through apt when root (as on CI),
# else Playwright's own download where it is reachable; SKIP_BROWSER=1 opts out.
export SKIP_BROWSER
browser: $(READY)
	@if [ "$(SKIP_BROWSER)" = 1 ]; then echo "SKIP_BROWSER=1: the browser tests will be skipped"; \
	elif command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	elif $(PY) -m playwright install chromium; then :; \
	else echo "The browser tests need Chromium: run 'sudo apt-get install chromium' (or set SKIP_BROWSER=1)." >&2; exit 1; fi

clean:
	rm -rf $(VENV) $(GATES_VENV) dist .local .pytest_cache .ruff_cache

# --- deploy to AWS (docs/deploy.md) -----------------------------------------------------

$(GATES_READY): requirements-gates.txt
	$(PYTHON) -m venv $(GATES_VENV)
	$(GATES_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-gates.txt
	touch $(GATES_READY)

gates-venv: $(GATES_READY) ## cfn-lint (+ serverless rules), checkov and the SAM translator

package: $(READY) $(GATES_READY) ## dist/sam.json + dist/deployment.zip (with bytecode) for STAGE, offline
	$(PY) -m devtools.package --stage $(STAGE)
	rc=0; $(GATES_VENV)/bin/cfn-lint -a cfn_lint_serverless.rules -- dist/sam.json || rc=$$?; [ $$(( rc & 2 )) -eq 0 ]  # warnings pass, errors fail

gates: $(READY) $(GATES_READY) ## package once and run every template gate
	$(PY) -m pytest -q -p no:cacheprovider tests/test_template.py tests/test_iam.py

deploy: $(READY) ## stateful stack + chalice deploy --stage $(STAGE) + batch-failure reporting (needs AWS credentials)
	$(PY) -m devtools.deploy --stage $(STAGE)

.PHONY: bench-catalog
bench-catalog: $(READY) ## cached menu reads vs a bare Chalice route; ScannedCount per menu page at 1K and 50K products
	$(PY) -m bench.catalog


bench: $(READY) ## every benchmark: one table of figures, targets and verdicts (.local/bench.json)
	$(PY) -m bench

LOAD_VENV := .venv-load
LOAD_READY := $(LOAD_VENV)/.ready
ORDERS ?= 2000
USERS ?= 12
TIME ?= 5m

$(LOAD_READY): requirements-load.txt
	$(PYTHON) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-load.txt
	touch $(LOAD_READY)

.PHONY: load
load: $(LOAD_READY) ## a lunch rush against URL (`make run`'s or a deployed stage's): ORDERS, USERS, TIME bound it
	@test -n "$(URL)" || { echo "usage: make load URL=http://127.0.0.1:8000 [ORDERS=2000 USERS=12 TIME=5m]"; exit 2; }
	mkdir -p .local
	LOAD_ORDERS=$(ORDERS) LOAD_REPORT_DIR=.local $(LOAD_VENV)/bin/locust -f bench/load/locustfile.py --headless \
		--host $(URL) -u $(USERS) -r $(USERS) --run-time $(TIME) --only-summary --stop-timeout 5

cost: $(READY) ## the monthly AWS bill of the traffic model, per service and per order, from the packaged template
	$(PY) -m devtools.package --stage $(STAGE) > /dev/null
	$(PY) -m bench.cost

cost-docs: $(READY) ## rewrites the figures docs/cost.md and docs/deploy.md quote (tests/test_template.py checks them)
	$(PY) -m devtools.package --stage $(STAGE) > /dev/null
	$(PY) -m bench.cost --write-docs

# --- operating a stage (docs/deploy.md): STACK=chowline-prod on AWS, else the local stack of `make run` ---
ADMIN := $(PY) -m devtools.admin $(if $(STACK),--stack $(STACK))

.PHONY: cost-docs create-admin find-user invite-owner invite-courier seed-restaurants
create-admin: $(READY) ## EMAIL=... [NAME=...]: invites an admin (Cognito e-mails a temporary password)
	$(ADMIN) create-admin $(EMAIL) $(if $(NAME),--name "$(NAME)")

find-user: $(READY) ## EMAIL=...: a user's id (for owner_id) and groups
	$(ADMIN) find-user $(EMAIL)

invite-owner: $(READY) ## EMAIL=... NAME=...: invites a restaurant owner
	$(ADMIN) invite-owner $(EMAIL) --name "$(NAME)"

invite-courier: $(READY) ## EMAIL=... NAME=...: invites a courier
	$(ADMIN) invite-courier $(EMAIL) --name "$(NAME)"

seed-restaurants: $(READY) ## FILE=restaurants.json: restaurants, their owners (invited) and menus
	$(ADMIN) seed-restaurants $(FILE)

redrive: $(RUN_READY) ## moves orders-dlq messages back to orders.fifo (local stack: .local/stack-$$PORT.env, or the only one running)
	@$(PY) -m devtools.redrive
