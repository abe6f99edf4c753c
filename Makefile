# The two commands a newcomer needs: `make dev` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint install clean bench docs

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,embedded,bench]' -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

dev: $(STAMP)
	$(BIN)/sagaway dev

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest

# Gateway and sagas vs the bare platform and a hand-written peer; table, JSON and PNG in
# bench-results/ (~8.5 min on 2 cores; SAGAWAY_BENCH_LONG=1 for longer rounds).
# `python -m`: bench/ lives in the checkout, not in the installed package.
bench: $(STAMP)
	$(BIN)/python -m sagaway bench

# The settings page is generated from the code; a test fails when it is stale.
docs: $(STAMP)
	$(BIN)/python -m sagaway settings > docs/settings.md

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) .sagaway .pytest_cache .mypy_cache .ruff_cache
