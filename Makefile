# Tracemark developer tasks (GNU make). `make` or `make help` lists them.
# Every target that runs Python first runs `setup`, which is quick when nothing changed.

SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV := .venv
BIN := $(VENV)/bin
BOOTSTRAP := bash scripts/bootstrap.sh

# The PostgreSQL the tests use; set it in the environment to point elsewhere. Tests marked
# `postgres` are skipped, with the reason printed, when no server answers.
export TRACEMARK_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

# Extra arguments: make test PYTEST_ARGS='-k merkle', make bench BENCH_ARGS='--help'.
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help setup setup-bench test run lint format bench bench-large lock clean distclean

help: ## List the targets
	@echo "Usage: make <target>"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

setup: ## Install system packages and .venv with the dev tools (quick when already done)
	@$(BOOTSTRAP)

setup-bench: ## Like setup, plus the benchmark extras
	@$(BOOTSTRAP) --with bench

test: setup ## Run the tests except those marked slow
	$(BIN)/pytest -q -m "not slow" $(PYTEST_ARGS)

run: setup ## Run the demo log (tracemark demo-log)
	$(BIN)/tracemark demo-log

lint: setup ## ruff check, ruff format --check, mypy (strict on ledger and scanner)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup ## Sort imports and format the code with ruff
	$(BIN)/ruff check --select I --fix .
	$(BIN)/ruff format .

bench: setup-bench ## Run the benchmarks (python -m bench)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-large: setup-bench ## Run the benchmarks at large sizes (python -m bench --large)
	$(BIN)/python -m bench --large $(BENCH_ARGS)

lock: ## Re-resolve dependencies and rewrite requirements.lock, then sync .venv
	bash scripts/lock.sh
	@$(BOOTSTRAP)

clean: ## Remove caches and build output (keeps .venv)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist test-artifacts
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) \
		-type d -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
