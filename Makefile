# Shiplane: `make test` sets everything up on a fresh machine and runs all checks;
# `make demo` runs the main job on its embedded defaults.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The venv is rebuilt from scratch whenever a lock changes, so it holds exactly the locks.
LOCKS := requirements-bootstrap.lock requirements.lock pyproject.toml
STAMP := $(VENV)/.installed-$(shell cat $(LOCKS) | sha256sum | cut -c1-16)
TOOLS_STAMP := $(VENV)/.tools-$(shell sha256sum < requirements-bootstrap.lock | cut -c1-16)
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

.PHONY: test demo image assets system-deps system-deps-demo system-deps-image venv tools lock lock-bootstrap lockcheck binaries test-binaries lint typecheck imports pytest clean-venv bench-sync bench-promotion

test: system-deps venv assets lockcheck test-binaries lint typecheck imports pytest

system-deps:
	@scripts/ensure-system-deps.sh

# Nothing here resolves a dependency, so a release published upstream tomorrow cannot
# change what is installed today: first the pinned installers (the interpreter's bundled
# pip would re-resolve extras such as `httpx2[http2,ws]`), then the whole closure with
# --no-deps and hashes, wheels only (an sdist build would fetch build tools), then
# `pip check` proves the closure is consistent.
venv: $(STAMP)

$(STAMP): $(LOCKS)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --no-deps --require-hashes -r requirements-bootstrap.lock
	$(PIP) install --no-deps --require-hashes --only-binary=:all: -r requirements.lock
	$(PIP) check
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $(TOOLS_STAMP) $@

# The web UI's third-party browser files, from the npm lock (web/package-lock.json) into
# the git-ignored src/shiplane/web/static/vendor/ (served under a content hash); axe-core
# stays in web/node_modules for the browser tests. No install scripts run; no Node at
# run time.
ASSETS_STAMP := web/node_modules/.installed-$(shell cat web/package.json web/package-lock.json | sha256sum | cut -c1-16)
WEB_VENDOR := src/shiplane/web/static/vendor

assets: $(ASSETS_STAMP)

$(ASSETS_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	rm -rf $(WEB_VENDOR) && mkdir -p $(WEB_VENDOR)
	cp web/node_modules/htmx.org/dist/htmx.min.js $(WEB_VENDOR)/htmx.min.js
	touch $@

# Only the installers (pip, uv), for `make lock` when the main lock does not install.
tools: $(TOOLS_STAMP)

$(TOOLS_STAMP): requirements-bootstrap.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --no-deps --require-hashes -r requirements-bootstrap.lock
	@rm -f $(VENV)/.tools-* && touch $@

# Regenerate requirements.lock from pyproject.toml. Versions already locked are kept;
# `make lock UPGRADE=1` moves everything to the newest release, `make lock
# UPGRADE=name` only that package.
lock: tools
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
	  --custom-compile-command "make lock" --quiet -o requirements.lock \
	  $(if $(filter 1,$(UPGRADE)),--upgrade,$(if $(UPGRADE),--upgrade-package $(UPGRADE)))
	$(BIN)/python scripts/check_lock.py

# Regenerate requirements-bootstrap.lock from requirements-bootstrap.in (new pip or uv).
lock-bootstrap: tools
	( sed -n '1,2p' requirements-bootstrap.lock; $(BIN)/uv pip compile requirements-bootstrap.in \
	  --python-version 3.11 --generate-hashes --no-header --no-annotate ) > requirements-bootstrap.lock.new
	mv requirements-bootstrap.lock.new requirements-bootstrap.lock

# pyproject.toml and requirements.lock must agree (run `make lock` when they do not).
lockcheck: venv
	$(BIN)/python scripts/check_lock.py --installed

binaries: venv
	$(BIN)/shiplane localcluster build

# The tests also run Gitea (a forge and OpenID Connect provider on loopback), Flux's
# source-controller and kustomize-controller (the `flux` deploy target) and Argo CD's repo
# server and application controller (the `argocd` deploy target), built from their pinned
# Go modules like the cluster binaries; the demo and benchmarks do not need them.
test-binaries: venv
	$(BIN)/shiplane localcluster build --with gitea --with flux --with argocd

lint: venv
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: venv
	$(BIN)/mypy

imports: venv
	$(BIN)/lint-imports

pytest: venv
	$(BIN)/pytest $(PYTEST_ARGS)

# The demo needs fewer system packages than the tests (no PostgreSQL, no Prometheus).
system-deps-demo:
	@scripts/ensure-system-deps.sh demo

demo: system-deps-demo venv assets binaries
	$(BIN)/shiplane demo

# The container image, without Docker (docs/image.md): a debootstrap'ed Debian with Shiplane
# in a venv from the lock, packed by umoci as an OCI image layout in build/image/; prints
# its digest and size. Runs as root. IMAGE_ARGS=--update-lock accepts new Debian versions
# into image/packages.lock.
system-deps-image:
	@scripts/ensure-system-deps.sh image

image: system-deps-image venv assets binaries
	$(BIN)/python scripts/build_image.py $(IMAGE_ARGS)

clean-venv:
	rm -rf $(VENV)

# Benchmark of the sync engine on its own local cluster (about 5 minutes; figures only).
bench-sync: venv binaries
	$(BIN)/python bench/sync.py $(BENCH_ARGS)

# Benchmark of the promotion engine on its own local cluster: overhead, train (about 6
# minutes) and throughput with 1-3 `shiplane serve` replicas (about 8 more); figures only.
bench-promotion: venv binaries
	$(BIN)/python bench/promotion.py $(BENCH_ARGS)
