"""An agent's objects when the API server cannot be reached: every call is a retryable
TargetUnavailableError naming what it was doing, never a transport error escaping (the
deploy's wait retries a retryable error and reports it otherwise)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from shiplane.kube.connection import connect
from shiplane.targets import argocd_objects, flux_objects
from shiplane.targets.base import TargetObject, TargetUnavailableError


def unreachable_kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig whose server is a loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


KUSTOMIZATION = TargetObject("Kustomization", "shop", "web")
APPLICATION = TargetObject("Application", "argocd", "web")
CALLS: dict[str, tuple[Callable[[Any], Awaitable[object]], str]] = {
    "flux read": (lambda c: flux_objects.read(c, KUSTOMIZATION), "reading"),
    "flux reconcile": (
        lambda c: flux_objects.request_reconcile(c, KUSTOMIZATION, datetime.now(UTC)),
        "to reconcile",
    ),
    "flux list": (lambda c: flux_objects.list_all(c, flux_objects.KUSTOMIZATION), "listing"),
    "argocd read": (lambda c: argocd_objects.read(c, APPLICATION), "reading"),
    "argocd patch": (lambda c: argocd_objects.patch(c, APPLICATION, {}), "to sync"),
    "argocd list": (lambda c: argocd_objects.list_all(c), "listing"),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_an_unreachable_api_server_is_a_retryable_target_error(name: str, tmp_path: Path) -> None:
    call, saying = CALLS[name]

    async def go() -> None:
        client = connect(unreachable_kubeconfig(tmp_path))
        try:
            await call(client)
        finally:
            await client.close()

    with pytest.raises(TargetUnavailableError) as caught:
        asyncio.run(go())
    assert caught.value.retryable
    assert saying in str(caught.value)
