# Chowline: `make run` serves the API on a local AWS emulator, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready
STAGE ?= prod
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: run emulator test lint package deploy bench cost redrive clean

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

test: $(READY) lint ## every test and gate
	$(PY) -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) dist .local .pytest_cache .ruff_cache

redrive: $(READY) ## moves orders-dlq messages back to orders.fifo (local stack: reads .local/stack.env)
	$(PY) -m devtools.redrive
