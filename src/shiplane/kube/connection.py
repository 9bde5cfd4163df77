"""Connections to clusters: one lightkube async client per (kubeconfig, context)."""

from __future__ import annotations

from pathlib import Path

from lightkube import AsyncClient, KubeConfig

FIELD_MANAGER = "shiplane"


def connect(
    kubeconfig: Path | None, context: str | None = None, *, in_cluster: bool = False
) -> AsyncClient:
    """An async client with Shiplane's field manager. `in_cluster` uses the pod's service
    account; otherwise the kubeconfig file (and context, default: its current one)."""
    if in_cluster:
        config = KubeConfig.from_service_account()
    else:
        if kubeconfig is None:
            raise ValueError("a kubeconfig path is required unless in_cluster is set")
        config = KubeConfig.from_file(str(kubeconfig.expanduser()))
    single = config.get(context_name=context)
    if single is None:
        raise ValueError(f"context {context!r} not found in kubeconfig {kubeconfig}")
    return AsyncClient(single, field_manager=FIELD_MANAGER)
