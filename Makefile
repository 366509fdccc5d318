# Chowline: `make run` serves the API on a local AWS emulator, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready
GATES_VENV := .venv-gates
GATES_READY := $(GATES_VENV)/.ready
STAGE ?= prod
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: run emulator test lint package deploy gates gates-venv bench cost redrive clean

$(READY): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(READY)

run: $(READY) ## emulator + provisioning + demo data + event pipeline + API on 127.0.0.1:$${PORT:-8000}
	$(PY) -m devtools.run

emulator: $(READY) ## the same without the API: pair it with `chalice local --stage local`
	$(PY) -m devtools.run --no-api

lint: $(READY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(READY) $(GATES_READY) lint ## every test and gate
	$(PY) -m pytest -q -p no:cacheprovider

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


bench: $(READY) ## cold start, warm overhead, memory; catalog reads and ScannedCount; the order pipeline; live updates
	$(PY) -m bench
	$(PY) -m bench.catalog
	$(PY) -m bench.pipeline
	$(PY) -m bench.live

cost: $(READY) ## the monthly AWS bill of the traffic model, per service and per order
	$(PY) -m bench.cost

redrive: $(READY) ## moves orders-dlq messages back to orders.fifo (local stack: reads .local/stack.env)
	$(PY) -m devtools.redrive
