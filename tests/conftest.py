"""Shared pytest set-up: the fixture plugins of tests/support (real clusters, PostgreSQL,
Prometheus; the async backend), available to every test directory."""

pytest_plugins = [
    "tests.support.anyio_backend",
    "tests.support.wait",
    "tests.support.clusters",
    "tests.support.postgres",
    "tests.support.prometheus",
]
