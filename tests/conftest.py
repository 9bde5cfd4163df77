"""Shared pytest set-up: fixture plugins for real components (clusters, PostgreSQL)."""

pytest_plugins = [
    "tests.support.wait",
    "tests.support.clusters",
    "tests.support.postgres",
]
