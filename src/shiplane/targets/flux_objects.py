"""Flux's objects in a cluster: read one, ask for a reconcile (the requestedAt
annotation), list them (for `shiplane import flux`), through targets/agent_objects.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lightkube import AsyncClient

from shiplane.targets import agent_objects
from shiplane.targets.agent_objects import AgentKind
from shiplane.targets.base import TargetObject
from shiplane.targets.flux_status import REQUESTED_AT

KUSTOMIZATION = AgentKind("Kustomization", "kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
GIT_REPOSITORY = AgentKind("GitRepository", "source.toolkit.fluxcd.io", "v1", "gitrepositories")
KINDS = {k.kind: k for k in (KUSTOMIZATION, GIT_REPOSITORY)}


async def read(client: AsyncClient, obj: TargetObject) -> dict[str, Any] | None:
    """The object, None when it does not exist (or its kind is not installed)."""
    return await agent_objects.read(client, KINDS[obj.kind], obj)


async def request_reconcile(client: AsyncClient, obj: TargetObject, now: datetime) -> None:
    """Set `reconcile.fluxcd.io/requestedAt` (what `flux reconcile` does): the controller
    reconciles at once instead of at its next interval."""
    body = {"metadata": {"annotations": {REQUESTED_AT: now.isoformat()}}}
    await agent_objects.merge_patch(
        client, KINDS[obj.kind], obj, body, f"asking {obj} to reconcile"
    )


async def list_all(client: AsyncClient, kind: AgentKind) -> list[Mapping[str, Any]]:
    """Every object of `kind` in every namespace (empty when Flux is not installed)."""
    return await agent_objects.list_all(client, kind)
