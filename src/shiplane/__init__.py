"""Shiplane: application promotion for Kubernetes."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # Looked up on first use: importlib.metadata costs tens of milliseconds, and most
    # `shiplane` commands never need the version (CLI start-up budget, docs/cli.md).
    if name != "__version__":
        raise AttributeError(f"module 'shiplane' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("shiplane")
    except PackageNotFoundError:  # running from a source tree without installation
        value = "0.0.0+unknown"
    globals()["__version__"] = value
    return value
