"""A Gateway API canary's cluster calls: read the app's HTTPRoute, write its rules (the
weights), and find the pod-template-hash of a stable Deployment's current pods.

The rules are written with a JSON merge patch under the field manager
`shiplane-strategy` (as blue-green's selector key): the route's other fields stay as
the last apply left them, and the sync at the end applies git's rules again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shiplane.kube.apply_rest import KubeApiError, request
from shiplane.strategies.canary_routes import GATEWAY_GROUP, POD_TEMPLATE_HASH
from shiplane.strategies.service_kube import MERGE_PATCH, STRATEGY_MANAGER

if TYPE_CHECKING:
    from lightkube import AsyncClient

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def _path(namespace: str, name: str) -> str:
    return f"/apis/{GATEWAY_GROUP}/v1/namespaces/{namespace}/httproutes/{name}"


async def get_route(client: AsyncClient, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        found = await request(client, "GET", _path(namespace, name))
    except KubeApiError as exc:
        if exc.not_found:
            return None
        raise
    return found if isinstance(found, dict) else None


async def set_rules(
    client: AsyncClient, namespace: str, name: str, rules: Sequence[Mapping[str, Any]]
) -> bool:
    """Replace the route's rules (a list is replaced whole by a merge patch); False when
    the route is absent."""
    try:
        await request(
            client,
            "PATCH",
            _path(namespace, name),
            params={"fieldManager": STRATEGY_MANAGER},
            body={"spec": {"rules": list(rules)}},
            content_type=MERGE_PATCH,
        )
    except KubeApiError as exc:
        if exc.not_found:
            return False
        raise
    return True


async def pod_template_hash(
    client: AsyncClient, namespace: str, deployment: Mapping[str, Any]
) -> str | None:
    """The pod-template-hash of the live Deployment's current ReplicaSet (the one of its
    revision), None when the controller has not made it yet."""
    meta = deployment.get("metadata") or {}
    revision = (meta.get("annotations") or {}).get(REVISION_ANNOTATION)
    labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    selector = ",".join(f"{k}={v}" for k, v in labels.items())
    found = await request(
        client,
        "GET",
        f"/apis/apps/v1/namespaces/{namespace}/replicasets",
        params={"labelSelector": selector} if selector else None,
    )
    for rs in (found or {}).get("items") or []:
        rs_meta = rs.get("metadata") or {}
        owned = any(o.get("uid") == meta.get("uid") for o in rs_meta.get("ownerReferences") or [])
        if owned and (rs_meta.get("annotations") or {}).get(REVISION_ANNOTATION) == revision:
            value = (rs_meta.get("labels") or {}).get(POD_TEMPLATE_HASH)
            return None if value is None else str(value)
    return None
