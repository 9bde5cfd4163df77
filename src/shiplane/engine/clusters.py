"""One connection per configured cluster: client, API discovery and applier, made lazily."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lightkube import AsyncClient

from shiplane.config import ProjectConfig
from shiplane.engine.project_source import ProjectSource
from shiplane.kube import access
from shiplane.kube.apply import Applier
from shiplane.kube.connection import ConnectionInfo, connect, describe
from shiplane.kube.discovery import Discovery


class UnknownClusterError(LookupError):
    pass


@dataclass
class ClusterHandle:
    name: str
    client: AsyncClient
    discovery: Discovery
    applier: Applier
    namespaces: list[str] | None = None
    """The namespaces the credentials are limited to (`clusters.<name>.namespaces`)."""
    kubeconfig: Path | None = None
    stamp: tuple[int, int, int] | None = None
    """The kubeconfig file as it was when connected (inode, size, mtime)."""


def file_stamp(path: Path | None) -> tuple[int, int, int] | None:
    """A file's identity and version; follows links (a mounted Secret's file is a link
    into the `..data` directory the kubelet swaps on update). None when absent."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class ClusterStatus:
    """A configured cluster as people see it: where, with which kind of credentials, and
    whether Shiplane can use it now (with the reason when not)."""

    name: str
    server: str | None
    auth: str | None
    namespaces: list[str] | None
    token_expires: str | None
    reachable: bool
    reason: str | None


class ClusterPool:
    """Cluster handles by name, created on first use and shared by every deploy.

    Clusters follow the project in force: one added to shiplane.yaml is connected on
    first use; one whose connection settings changed or that was removed is retired
    (`follow`), so the next use connects anew."""

    def __init__(self, project: ProjectConfig | ProjectSource, base_dir: Path) -> None:
        self.source = ProjectSource.of(project)
        self.base_dir = base_dir
        self._handles: dict[str, ClusterHandle] = {}
        # Retired handles may still serve a deploy that started before the change: they
        # are closed with the pool, not at once.
        self._retired: list[ClusterHandle] = []

    @property
    def project(self) -> ProjectConfig:
        return self.source.project

    def follow(self, old: ProjectConfig, new: ProjectConfig) -> list[str]:
        """A new project is in force: retire the handles of clusters it removed or whose
        settings changed; their names."""
        changed = [
            name for name in self._handles if old.clusters.get(name) != new.clusters.get(name)
        ]
        for name in changed:
            self._retired.append(self._handles.pop(name))
        return changed

    def renew_credentials(self) -> list[str]:
        """Retire the handles whose kubeconfig file changed since they connected (renewed
        credentials: `shiplane cluster add` again, an updated Secret); their names. The
        next use connects with the new file. A missing file keeps the handle: the change
        may be half done."""
        changed = []
        for name, handle in list(self._handles.items()):
            now = file_stamp(handle.kubeconfig)
            if handle.kubeconfig is not None and now is not None and now != handle.stamp:
                self._retired.append(self._handles.pop(name))
                changed.append(name)
        return changed

    def get(self, name: str) -> ClusterHandle:
        handle = self._handles.get(name)
        if handle is not None:
            return handle
        config = self.project.clusters.get(name)
        if config is None:
            raise UnknownClusterError(f"cluster {name!r} is not defined in shiplane.yaml")
        # A relative kubeconfig resolves beside the shiplane.yaml in force (at start:
        # `base_dir`; a version read from git: that commit's tree).
        base = self.base_dir if self.source.version.commit is None else self.source.version.base_dir
        path = config.kubeconfig_path(base)
        stamp = file_stamp(path)
        client = connect(path, config.context, in_cluster=config.in_cluster)
        discovery = Discovery(client)
        handle = ClusterHandle(
            name,
            client,
            discovery,
            Applier(client, discovery),
            namespaces=config.namespaces,
            kubeconfig=path,
            stamp=stamp,
        )
        self._handles[name] = handle
        return handle

    def describe(self, name: str) -> ConnectionInfo:
        config = self.project.clusters.get(name)
        if config is None:
            raise UnknownClusterError(f"cluster {name!r} is not defined in shiplane.yaml")
        base = self.base_dir if self.source.version.commit is None else self.source.version.base_dir
        return describe(config.kubeconfig_path(base), config.context, in_cluster=config.in_cluster)

    async def status(self, name: str, timeout: float = 3.0) -> ClusterStatus:  # noqa: ASYNC109
        """Probe one cluster (kube/access.py); never raises."""
        config = self.project.clusters.get(name)
        namespaces = None if config is None else config.namespaces
        try:
            info = self.describe(name)
            handle = self.get(name)
        except Exception as exc:  # a missing kubeconfig or service account: say which
            reason = str(exc) or type(exc).__name__
            return ClusterStatus(name, None, None, namespaces, None, False, reason)
        found = await access.probe(
            handle.client, namespaces or (), token_expires=info.token_expires, timeout=timeout
        )
        return ClusterStatus(
            name,
            info.server,
            info.auth,
            namespaces,
            info.token_expires,
            found.reachable,
            found.reason,
        )

    def for_environment(self, environment: str) -> ClusterHandle:
        return self.get(self.project.require_environment(environment).cluster)

    def handles(self) -> list[ClusterHandle]:
        return list(self._handles.values())

    async def close(self) -> None:
        for handle in [*self._handles.values(), *self._retired]:
            await handle.client.close()
        self._handles.clear()
        self._retired.clear()
