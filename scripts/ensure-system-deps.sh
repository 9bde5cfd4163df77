#!/usr/bin/env bash
# Installs the Debian packages Shiplane needs, when missing: `ensure-system-deps.sh test`
# (the default) for the build and the whole test suite, `ensure-system-deps.sh demo` for
# `make demo` only (git, openssl, npm, docker-registry, prometheus...; no PostgreSQL or
# Chromium: the demo uses neither), `ensure-system-deps.sh image` for `make image` only
# (git, npm, python3-venv, debootstrap, umoci, skopeo; docs/image.md).
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail
profile="${1:-test}"
case "$profile" in
  test|demo|image) ;;
  *) echo "usage: $0 [test|demo|image]" >&2; exit 2 ;;
esac

missing=()
need() { # need <command-or-path> <package>
  if [[ "$1" == /* ]]; then compgen -G "$1" >/dev/null || missing+=("$2")
  else command -v "$1" >/dev/null 2>&1 || missing+=("$2"); fi
}
need git git
need openssl openssl
need runuser util-linux
need make make
# npm installs the web UI's browser assets from web/package-lock.json (`make assets`).
need npm npm
if [ "$profile" = test ]; then
  need '/usr/lib/postgresql/*/bin/initdb' postgresql
  # The browser tests drive Debian's Chromium through Playwright (no browser download).
  need /usr/bin/chromium chromium
  # The forge tests' Gitea is built with cgo (its SQLite driver is C): a C compiler and
  # libc headers, at build time only.
  need gcc gcc
  need /usr/include/stdio.h libc6-dev
  # The argocd target's tests: Argo CD's repo server and controller cache in Redis.
  need /usr/bin/redis-server redis-server
fi
if [ "$profile" != image ]; then
  # The OCI distribution registry on loopback: CI pushes to it in the demo, and the
  # artifact-source tests (and the image test) run it (shiplane/localcluster/registry.py).
  need /usr/bin/docker-registry docker-registry
  # Prometheus on loopback: the promotion tests' analyses, and the demo's canary analysis
  # (shiplane/cli/demo_prometheus.py).
  need /usr/bin/prometheus prometheus
fi
need python3 python3
# The container image (`make image`, scripts/build_image.py, docs/image.md) is built
# without Docker: Debian's debootstrap makes its root file system, umoci packs it as an
# OCI image layout, and the image test pushes and pulls it with skopeo.
if [ "$profile" != demo ]; then
  need debootstrap debootstrap
  need umoci umoci
  need skopeo skopeo
fi
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  echo "installing system packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  $cmd >&2
else
  echo "missing system packages: ${missing[*]}" >&2
  echo "run as root: apt-get update && $cmd" >&2
  exit 1
fi
