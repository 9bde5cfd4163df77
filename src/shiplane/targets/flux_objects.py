"""Flux's objects in a cluster: read one, ask for a reconcile (the requestedAt
annotation), list them (for `shiplane import flux`). Raw REST through kube/apply_rest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lightkube import AsyncClient

from shiplane.kube.apply_rest import KubeApiError, request
from shiplane.targets.base import TargetObject, TargetUnavailableError
from shiplane.targets.flux_status import REQUESTED_AT

MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class FluxKind:
    kind: str
    group: str
    version: str
    plural: str

    def path(self, namespace: str, name: str = "") -> str:
        base = f"/apis/{self.group}/{self.version}"
        if not namespace:
            return f"{base}/{self.plural}"
        tail = f"/{name}" if name else ""
        return f"{base}/namespaces/{namespace}/{self.plural}{tail}"


KUSTOMIZATION = FluxKind("Kustomization", "kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
GIT_REPOSITORY = FluxKind("GitRepository", "source.toolkit.fluxcd.io", "v1", "gitrepositories")
KINDS = {k.kind: k for k in (KUSTOMIZATION, GIT_REPOSITORY)}


async def read(client: AsyncClient, obj: TargetObject) -> dict[str, Any] | None:
    """The object, None when it does not exist (or its kind is not installed)."""
    try:
        found = await request(client, "GET", KINDS[obj.kind].path(obj.namespace, obj.name))
    except KubeApiError as exc:
        if exc.not_found:
            return None
        raise TargetUnavailableError(f"reading {obj} failed: {exc}") from None
    except OSError as exc:
        raise TargetUnavailableError(f"reading {obj} failed: {exc}", retryable=True) from None
    return dict(found)


async def request_reconcile(client: AsyncClient, obj: TargetObject, now: datetime) -> None:
    """Set `reconcile.fluxcd.io/requestedAt` (what `flux reconcile` does): the controller
    reconciles at once instead of at its next interval."""
    body = {"metadata": {"annotations": {REQUESTED_AT: now.isoformat()}}}
    try:
        await request(
            client,
            "PATCH",
            KINDS[obj.kind].path(obj.namespace, obj.name),
            body=body,
            content_type=MERGE_PATCH,
        )
    except KubeApiError as exc:
        raise TargetUnavailableError(f"asking {obj} to reconcile failed: {exc}") from None


async def list_all(client: AsyncClient, kind: FluxKind) -> list[Mapping[str, Any]]:
    """Every object of `kind` in every namespace (empty when Flux is not installed)."""
    try:
        found = await request(client, "GET", kind.path(""))
    except KubeApiError as exc:
        if exc.not_found:
            return []
        raise TargetUnavailableError(f"listing {kind.kind}s failed: {exc}") from None
    return list((found or {}).get("items") or [])
