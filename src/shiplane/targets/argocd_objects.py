"""Argo CD's Applications in a cluster: read one, patch one (refresh and sync), list them
(for `shiplane import argocd`). Raw REST through kube/apply_rest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightkube import AsyncClient

from shiplane.kube.apply_rest import KubeApiError, request
from shiplane.targets.base import TargetObject, TargetUnavailableError

MERGE_PATCH = "application/merge-patch+json"
GROUP_VERSION = "argoproj.io/v1alpha1"
PLURAL = "applications"


def path(namespace: str, name: str = "") -> str:
    """The REST path of an Application (or of all of them, without a namespace)."""
    base = f"/apis/{GROUP_VERSION}"
    if not namespace:
        return f"{base}/{PLURAL}"
    tail = f"/{name}" if name else ""
    return f"{base}/namespaces/{namespace}/{PLURAL}{tail}"


async def read(client: AsyncClient, obj: TargetObject) -> dict[str, Any] | None:
    """The Application, None when it does not exist (or Argo CD's CRDs are not installed)."""
    try:
        found = await request(client, "GET", path(obj.namespace, obj.name))
    except KubeApiError as exc:
        if exc.not_found:
            return None
        raise TargetUnavailableError(f"reading {obj} failed: {exc}") from None
    except OSError as exc:
        raise TargetUnavailableError(f"reading {obj} failed: {exc}", retryable=True) from None
    return dict(found)


async def patch(client: AsyncClient, obj: TargetObject, body: Mapping[str, Any]) -> None:
    """A JSON merge patch of the Application (annotations, `operation`)."""
    try:
        await request(
            client,
            "PATCH",
            path(obj.namespace, obj.name),
            body=dict(body),
            content_type=MERGE_PATCH,
        )
    except KubeApiError as exc:
        raise TargetUnavailableError(f"asking {obj} to sync failed: {exc}") from None
    except OSError as exc:
        raise TargetUnavailableError(
            f"asking {obj} to sync failed: {exc}", retryable=True
        ) from None


async def list_all(client: AsyncClient) -> list[Mapping[str, Any]]:
    """Every Application in every namespace (empty when Argo CD is not installed)."""
    try:
        found = await request(client, "GET", path(""))
    except KubeApiError as exc:
        if exc.not_found:
            return []
        raise TargetUnavailableError(f"listing Applications failed: {exc}") from None
    return list((found or {}).get("items") or [])
