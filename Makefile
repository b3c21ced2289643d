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

# The sample supply chain `make run` serves and `make demo` plays. HOST and PORT are where the
# server listens (DEMO_PORT is PORT's older name); PUBLIC_URL (default: TRACEMARK_PUBLIC_URL,
# else http://localhost:PORT) is what the printed URLs, codes and pages name, e.g.
#   make run PORT=8001
#   make run HOST=0.0.0.0 PUBLIC_URL=http://192.168.1.20:8000   (phones on the LAN)
SAMPLES ?= samples/out
DEMO_PORT ?= 8000
PORT ?= $(DEMO_PORT)
HOST ?= 127.0.0.1
PUBLIC_URL ?=
# Where `make demo` reaches the server: this machine, unless it listens on one other address.
DEMO_HOST := $(if $(filter 127.0.0.1 0.0.0.0 localhost ::,$(HOST)),127.0.0.1,$(HOST))

.PHONY: help setup setup-bench test run demo up down lint format bench bench-large lock clean
.PHONY: distclean docs image test-container web screenshots

help: ## List the targets
	@echo "Usage: make <target>"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

setup: ## Install system packages and .venv with the dev tools (quick when already done)
	@$(BOOTSTRAP)

setup-bench: ## Like setup, plus the benchmark extras
	@$(BOOTSTRAP) --with bench

test: setup ## Run the tests except those marked slow or container
	$(BIN)/pytest -q -m "not slow and not container" $(PYTEST_ARGS)

# The Chromium tests that take the documentation's screenshots (docs/img/). They take them on
# every run, but write docs/img/ only with TRACEMARK_SCREENSHOTS=1 (tests/conftest.py,
# save_screenshot); otherwise into pytest's temporary directory, so `make test` leaves git clean.
SCREENSHOT_TESTS := tests/pages/test_browser.py tests/pages/test_scan_browser.py tests/pages/test_overlay_browser.py \
	tests/pages/test_viewer_browser.py tests/console/test_console_browser.py \
	tests/console/test_seller_browser.py

screenshots: setup ## Re-take the documentation's screenshots in docs/img/ (Chromium tests)
	TRACEMARK_SCREENSHOTS=1 $(BIN)/pytest -q $(SCREENSHOT_TESTS) $(PYTEST_ARGS)

image: ## Build the container image tracemark:local with buildah (no Docker daemon needed)
	bash scripts/image.sh

test-container: setup ## Build the image and smoke-test it (tests marked container)
	@$(BOOTSTRAP) --with container
	$(BIN)/pytest -q -m container tests/e2e/test_container.py $(PYTEST_ARGS)

run: setup ## Build the sample (once) and serve it: make run [HOST=..] [PORT=..] [PUBLIC_URL=..]
	$(BIN)/python -m samples.run --out $(SAMPLES) --host $(HOST) --port $(PORT) \
		$(if $(PUBLIC_URL),--public-url $(PUBLIC_URL))

demo: setup ## Play the whole story against the server of `make run` (another terminal)
	$(BIN)/python -m samples.demo --server http://$(DEMO_HOST):$(PORT) --samples $(SAMPLES)

# Docker Compose (compose.yaml): PostgreSQL, two API replicas, the proxy, the checkpointer.
# Without Docker, tests/e2e/test_topology.py runs the same topology as local processes.
COMPOSE := docker compose
NEED_COMPOSE = @$(COMPOSE) version >/dev/null 2>&1 || { \
	echo "make $@: needs Docker with the Compose plugin ('docker compose version' failed)." >&2; \
	echo "  Install Docker Engine and docker-compose-plugin; without Docker, run the same" >&2; \
	echo "  topology as processes: .venv/bin/pytest tests/e2e/test_topology.py" >&2; \
	exit 1; }

up: ## Start the Docker Compose stack (creates deploy/secrets/ once); proxy on :8080
	$(NEED_COMPOSE)
	@bash deploy/secrets.sh
	$(COMPOSE) up --build --detach --wait
	@echo "Tracemark is up: http://localhost:$${TRACEMARK_PORT:-8080} (make down stops it)"

down: ## Stop the Docker Compose stack (the database and key volumes are kept)
	$(NEED_COMPOSE)
	$(COMPOSE) down

lint: setup ## ruff check, ruff format --check, mypy (strict on ledger and scanner)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup ## Sort imports and format the code with ruff
	$(BIN)/ruff check --select I --fix .
	$(BIN)/ruff format .

docs: setup ## Regenerate the reference sections of docs/api.md and docs/cli.md
	$(BIN)/python scripts/gen_docs.py

web: ## Rebuild the scan page's browser files (api/http/static/scan, committed) with npm
	npm --prefix api/http/web ci --no-audit --no-fund
	npm --prefix api/http/web run build

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
