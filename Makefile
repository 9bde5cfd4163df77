# Shiplane: `make test` sets everything up on a fresh machine and runs all checks;
# `make demo` runs the main job on its embedded defaults.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)

.PHONY: test demo system-deps venv binaries lint typecheck imports pytest clean-venv bench-sync bench-promotion

test: system-deps venv binaries lint typecheck imports pytest

system-deps:
	@scripts/ensure-system-deps.sh

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-* && touch $@

binaries: venv
	$(BIN)/shiplane localcluster build

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: venv
	$(BIN)/mypy

imports: venv
	$(BIN)/lint-imports

pytest: venv
	$(BIN)/pytest $(PYTEST_ARGS)

demo: system-deps venv binaries
	$(BIN)/shiplane demo

clean-venv:
	rm -rf $(VENV)

# Benchmark of the sync engine on its own local cluster (about 5 minutes; figures only).
bench-sync: venv binaries
	$(BIN)/python bench/sync.py $(BENCH_ARGS)

# Benchmark of the promotion engine on its own local cluster: overhead, train (about 6
# minutes) and throughput with 1-3 `shiplane serve` replicas (about 8 more); figures only.
bench-promotion: venv binaries
	$(BIN)/python bench/promotion.py $(BENCH_ARGS)
