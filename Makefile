# Trainyard command catalogue: `make help` lists every target with its `##` description.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CACHE ?= $(or $(TRAINYARD_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/trainyard)
export TRAINYARD_CACHE := $(CACHE)
UV_VERSION := 0.13.8
UV := $(CACHE)/uv-$(UV_VERSION)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest
STAMP := $(VENV)/.installed
MYPY := $(VENV)/bin/mypy --strict -p trainyard_runstore -p trainyard_api
PYPROJECTS := runstore/pyproject.toml client/pyproject.toml trainer-image/pyproject.toml api/pyproject.toml operator/pyproject.toml
export PYTHONPATH := $(CURDIR)
export NUMBA_CACHE_DIR ?= $(CACHE)/numba

.PHONY: help install lock dev test test-fast bench lint openapi web ferretdb chromium clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	@echo ">> installing uv $(UV_VERSION) into $(CACHE)"
	@python3 -m venv $(CACHE)/uv-$(UV_VERSION) && $(CACHE)/uv-$(UV_VERSION)/bin/pip install -q uv==$(UV_VERSION)

$(STAMP): requirements-dev.lock $(PYPROJECTS) | $(UV)
	@echo ">> creating $(VENV) from requirements-dev.lock (torch is large: the first install takes minutes)"
	@test -x $(PY) || $(UV) venv -q --python python3.11 $(VENV)
	@$(UV) pip install --python $(PY) -r requirements-dev.lock
	@touch $@

install: $(STAMP) ## Create the virtualenv with every package pinned in requirements-dev.lock

lock: | $(UV) ## Re-pin requirements-dev.lock from requirements-dev.in
	$(UV) pip compile requirements-dev.in -o requirements-dev.lock --python-version 3.11

ferretdb: ## Build FerretDB (cached per version outside the repository)
	@scripts/build-ferretdb.sh >/dev/null

chromium: ## Install Debian's Chromium for the browser tests (if missing)
	@command -v chromium >/dev/null || { echo ">> installing chromium (apt)"; \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  { echo "could not install chromium: run 'apt-get install chromium' as root"; exit 1; }; }

dev: install ferretdb web ## Start FerretDB, the API + UI on :8000 and a smoke training run (Ctrl-C stops all)
	$(PY) scripts/dev.py

test-fast: install ## Unit tests only (seconds)
	$(PYTEST) -m unit -q

test: install ferretdb web chromium k8s-bins helm prometheus node-deps node-bins images node-images ## Every tier: unit, FerretDB, training, browser, Kubernetes, chart
	$(VENV)/bin/lint-imports
	$(MYPY)
	$(PYTEST) -v --durations=15

bench: install ferretdb web chromium ## Benchmarks: logger ingest, API latency, environment speed (prints tables)
	$(PY) bench/run.py

lint: install ## ruff, import-linter and mypy (strict on the run store and the API)
	$(VENV)/bin/ruff check runstore client api trainer-image operator tests scripts bench examples
	$(VENV)/bin/lint-imports
	$(MYPY)

openapi: install ## Regenerate api/openapi.json and the web UI's generated types
	$(PY) -m trainyard_api.openapi > api/openapi.json
	cd web && npm run gen:api

clean: ## Remove local state (.dev/, test artifacts); caches outside the repo stay
	rm -rf .dev .artifacts

include mk/*.mk
