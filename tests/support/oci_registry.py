"""A real OCI distribution registry (Debian's `docker-registry`) for tests, on 127.0.0.1.

The registry itself is `shiplane.localcluster.registry` (the demo runs the same one):
TLS with a throwaway CA, htpasswd auth, deletes enabled, pushes through the registry's
own HTTP API. Here: the tests' user and password, a missing binary failing the test with
the install command, and `oci_registry` (session-scoped), stopped by its PID at the end.
A fixture plugin of tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shiplane.localcluster import registry as local
from shiplane.localcluster.procs import free_port
from shiplane.localcluster.registry import OCI_INDEX, OCI_MANIFEST, LocalRegistry, make_ca

__all__ = [
    "OCI_INDEX",
    "OCI_MANIFEST",
    "PASSWORD",
    "USER",
    "OciRegistry",
    "free_port",
    "make_ca",
    "oci_registry",
    "start_registry",
    "stop_registry",
]

USER, PASSWORD = "ci", "s3cret-push-pw"
OciRegistry = LocalRegistry  # the tests' name for it


def start_registry(
    root: Path, port: int | None = None, auth: str | None = None, notifications: str = ""
) -> OciRegistry:
    """Start a registry under `root` for USER (see `localcluster.registry.start_registry`)."""
    if local.registry_binary() is None:
        pytest.fail(
            f"the OCI registry was not found at {local.REGISTRY_BIN}: install Debian's "
            "package with `apt-get install docker-registry` (scripts/ensure-system-deps.sh "
            "does it as root), or point SHIPLANE_REGISTRY_BIN at a registry binary"
        )
    return local.start_registry(
        root, user=USER, password=PASSWORD, port=port, auth=auth, notifications=notifications
    )


def stop_registry(registry: OciRegistry) -> None:
    local.stop_registry(registry)


@pytest.fixture(scope="session")
def oci_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OciRegistry]:
    """A real registry with TLS (throwaway CA) and htpasswd auth on 127.0.0.1."""
    registry = start_registry(tmp_path_factory.mktemp("oci-registry"))
    try:
        yield registry
    finally:
        stop_registry(registry)
