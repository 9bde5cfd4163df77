"""A Service's few calls for blue-green: read it, apply it (server-side apply, Shiplane's
field manager), and add or remove the one selector key that points it at a track.

The key is changed with a JSON merge patch under its own field manager
(`shiplane-strategy`), so the Service's other fields stay owned as the last apply left
them, and removing the key (`null`) gives back exactly the selector git describes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shiplane.kube.apply_rest import APPLY_PATCH, KubeApiError, request
from shiplane.kube.connection import FIELD_MANAGER

if TYPE_CHECKING:
    from lightkube import AsyncClient

STRATEGY_MANAGER = "shiplane-strategy"
MERGE_PATCH = "application/merge-patch+json"


def _path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{namespace}/services/{name}"


async def get_service(client: AsyncClient, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        found = await request(client, "GET", _path(namespace, name))
    except KubeApiError as exc:
        if exc.not_found:
            return None
        raise
    return found if isinstance(found, dict) else None


async def list_services(
    client: AsyncClient, namespace: str, label_selector: str | None = None
) -> list[dict[str, Any]]:
    params = None if label_selector is None else {"labelSelector": label_selector}
    found = await request(client, "GET", f"/api/v1/namespaces/{namespace}/services", params=params)
    items = found.get("items") if isinstance(found, dict) else None
    return [i for i in items or [] if isinstance(i, dict)]


async def apply_service(client: AsyncClient, namespace: str, obj: dict[str, Any]) -> None:
    body = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
    await request(
        client,
        "PATCH",
        _path(namespace, str(obj["metadata"]["name"])),
        params={"fieldManager": FIELD_MANAGER, "force": "true"},
        body=body,
        content_type=APPLY_PATCH,
    )


async def set_selector_key(
    client: AsyncClient, namespace: str, name: str, key: str, value: str | None
) -> bool:
    """Add (`value`) or remove (None) one key of a Service's selector; False when the
    Service is absent."""
    try:
        await request(
            client,
            "PATCH",
            _path(namespace, name),
            params={"fieldManager": STRATEGY_MANAGER},
            body={"spec": {"selector": {key: value}}},
            content_type=MERGE_PATCH,
        )
    except KubeApiError as exc:
        if exc.not_found:
            return False
        raise
    return True


async def delete_service(client: AsyncClient, namespace: str, name: str) -> bool:
    """False when the Service is absent."""
    try:
        await request(client, "DELETE", _path(namespace, name))
    except KubeApiError as exc:
        if exc.not_found:
            return False
        raise
    return True
