"""One connection per configured cluster: client, API discovery and applier, made lazily."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lightkube import AsyncClient

from shiplane.config import ProjectConfig
from shiplane.kube.apply import Applier
from shiplane.kube.connection import connect
from shiplane.kube.discovery import Discovery


class UnknownClusterError(LookupError):
    pass


@dataclass
class ClusterHandle:
    name: str
    client: AsyncClient
    discovery: Discovery
    applier: Applier


class ClusterPool:
    """Cluster handles by name, created on first use and shared by every deploy."""

    def __init__(self, project: ProjectConfig, base_dir: Path) -> None:
        self.project = project
        self.base_dir = base_dir
        self._handles: dict[str, ClusterHandle] = {}

    def get(self, name: str) -> ClusterHandle:
        handle = self._handles.get(name)
        if handle is not None:
            return handle
        config = self.project.clusters.get(name)
        if config is None:
            raise UnknownClusterError(f"cluster {name!r} is not defined in shiplane.yaml")
        client = connect(
            config.kubeconfig_path(self.base_dir), config.context, in_cluster=config.in_cluster
        )
        discovery = Discovery(client)
        handle = ClusterHandle(name, client, discovery, Applier(client, discovery))
        self._handles[name] = handle
        return handle

    def for_environment(self, environment: str) -> ClusterHandle:
        return self.get(self.project.require_environment(environment).cluster)

    def handles(self) -> list[ClusterHandle]:
        return list(self._handles.values())

    async def close(self) -> None:
        for handle in self._handles.values():
            await handle.client.close()
        self._handles.clear()
