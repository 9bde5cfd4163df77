"""The canary's few cluster calls: read a Deployment, apply the canary (server-side
apply, Shiplane's field manager), delete it. Raw requests through the cluster's client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shiplane.kube.apply_rest import APPLY_PATCH, KubeApiError, request
from shiplane.kube.connection import FIELD_MANAGER
from shiplane.kube.ownership import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from shiplane.strategies.canary_objects import TRACK_LABEL

if TYPE_CHECKING:
    from lightkube import AsyncClient


def _path(namespace: str, name: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"


async def get_deployment(client: AsyncClient, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        found = await request(client, "GET", _path(namespace, name))
    except KubeApiError as exc:
        if exc.not_found:
            return None
        raise
    return found if isinstance(found, dict) else None


async def apply_deployment(
    client: AsyncClient, namespace: str, obj: dict[str, Any]
) -> dict[str, Any]:
    body = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
    applied = await request(
        client,
        "PATCH",
        _path(namespace, str(obj["metadata"]["name"])),
        params={"fieldManager": FIELD_MANAGER, "force": "true"},
        body=body,
        content_type=APPLY_PATCH,
    )
    return applied if isinstance(applied, dict) else {}


async def list_canaries(
    client: AsyncClient, namespace: str, track: str = "canary"
) -> list[dict[str, Any]]:
    """The Deployments of a track (`canary`, `preview`) Shiplane made in `namespace`."""
    found = await request(
        client,
        "GET",
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        params={"labelSelector": f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{TRACK_LABEL}={track}"},
    )
    items = found.get("items") if isinstance(found, dict) else None
    return [i for i in items or [] if isinstance(i, dict)]


async def delete_deployment(client: AsyncClient, namespace: str, name: str) -> bool:
    """Delete (its ReplicaSets and pods follow in the background); False when absent."""
    try:
        await request(
            client,
            "DELETE",
            _path(namespace, name),
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
        )
    except KubeApiError as exc:
        if exc.not_found:
            return False
        raise
    return True
