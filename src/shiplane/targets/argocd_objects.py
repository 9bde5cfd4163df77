"""Argo CD's Applications in a cluster: read one, patch one (refresh and sync), list them
(for `shiplane import argocd`), through targets/agent_objects.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightkube import AsyncClient

from shiplane.targets import agent_objects
from shiplane.targets.agent_objects import AgentKind
from shiplane.targets.base import TargetObject

APPLICATION = AgentKind("Application", "argoproj.io", "v1alpha1", "applications")


async def read(client: AsyncClient, obj: TargetObject) -> dict[str, Any] | None:
    """The Application, None when it does not exist (or Argo CD's CRDs are not installed)."""
    return await agent_objects.read(client, APPLICATION, obj)


async def patch(client: AsyncClient, obj: TargetObject, body: Mapping[str, Any]) -> None:
    """A JSON merge patch of the Application (annotations, `operation`)."""
    await agent_objects.merge_patch(client, APPLICATION, obj, body, f"asking {obj} to sync")


async def list_all(client: AsyncClient) -> list[Mapping[str, Any]]:
    """Every Application in every namespace (empty when Argo CD is not installed)."""
    return await agent_objects.list_all(client, APPLICATION)
