# zhikong — the two commands of the README quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PEOPLE ?= 100000

.PHONY: demo test install lint types pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Build the demo province (Zhejiang, synthetic residents) and serve it on 127.0.0.1:8000.
demo: $(STAMP)
	$(BIN)/zhikong demo --people $(PEOPLE) --serve

## The whole test suite: lint, format, types, tests on SQLite and PostgreSQL (no skips allowed).
test: $(STAMP)
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	$(MAKE) --no-print-directory lint types pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/lint-imports

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	ZHIKONG_REQUIRE_POSTGRES=1 $(BIN)/pytest -n 2

## Benchmarks (not part of `make test`): figures are appended to benchmarks/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_demo.py
	$(BIN)/python benchmarks/bench_certlogic.py
	$(BIN)/python benchmarks/bench_credential.py
	$(BIN)/python benchmarks/bench_index.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
