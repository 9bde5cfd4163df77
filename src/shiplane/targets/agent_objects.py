"""A GitOps agent's custom objects (Flux's Kustomizations and GitRepositories, Argo CD's
Applications) through raw REST (kube/apply_rest): where one kind lives, read one, merge-
patch one, list them all. Every failure is a TargetUnavailableError naming the object; an
API server that cannot be reached (a transport error of lightkube's httpx2, OSError) is
retryable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
from lightkube import AsyncClient

from shiplane.kube.apply_rest import KubeApiError, request
from shiplane.targets.base import TargetObject, TargetUnavailableError

MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class AgentKind:
    kind: str
    group: str
    version: str
    plural: str

    def path(self, namespace: str, name: str = "") -> str:
        """The REST path of one object (or of all of them, without a namespace)."""
        base = f"/apis/{self.group}/{self.version}"
        if not namespace:
            return f"{base}/{self.plural}"
        tail = f"/{name}" if name else ""
        return f"{base}/namespaces/{namespace}/{self.plural}{tail}"


async def read(client: AsyncClient, kind: AgentKind, obj: TargetObject) -> dict[str, Any] | None:
    """The object, None when it does not exist (or its kind is not installed)."""
    try:
        found = await request(client, "GET", kind.path(obj.namespace, obj.name))
    except KubeApiError as exc:
        if exc.not_found:
            return None
        raise TargetUnavailableError(f"reading {obj} failed: {exc}") from None
    except (OSError, httpx2.TransportError) as exc:
        raise TargetUnavailableError(f"reading {obj} failed: {exc}", retryable=True) from None
    return dict(found)


async def merge_patch(
    client: AsyncClient, kind: AgentKind, obj: TargetObject, body: Mapping[str, Any], doing: str
) -> None:
    """A JSON merge patch of the object; `doing` says what for in an error (`asking
    Kustomization shop/web to reconcile`)."""
    try:
        await request(
            client,
            "PATCH",
            kind.path(obj.namespace, obj.name),
            body=dict(body),
            content_type=MERGE_PATCH,
        )
    except KubeApiError as exc:
        raise TargetUnavailableError(f"{doing} failed: {exc}") from None
    except (OSError, httpx2.TransportError) as exc:
        raise TargetUnavailableError(f"{doing} failed: {exc}", retryable=True) from None


async def list_all(client: AsyncClient, kind: AgentKind) -> list[Mapping[str, Any]]:
    """Every object of `kind` in every namespace (empty when the agent is not installed)."""
    try:
        found = await request(client, "GET", kind.path(""))
    except KubeApiError as exc:
        if exc.not_found:
            return []
        raise TargetUnavailableError(f"listing {kind.kind}s failed: {exc}") from None
    except (OSError, httpx2.TransportError) as exc:
        what = f"listing {kind.kind}s failed: {exc}"
        raise TargetUnavailableError(what, retryable=True) from None
    return list((found or {}).get("items") or [])
