"""What a pin names beyond images, fetched for the render: the pinned chart version (the
chart cache, `gitops/charts.py`) and the pinned config commit (the workspace's composite
tree, `gitops/composite.py`), each looked up with the project in force.

A chart is pulled from the app's `chart.repository`; the credentials, CA and plain-HTTP
setting of a chart source watching the same chart apply (the app's `chart` names no
credentials of its own). A config commit missing from the GitOps working copy is fetched
from the repository of each git source that feeds the app (docs/gitops.md).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx

from shiplane.config.models import ChartSourceConfig, GitSourceConfig
from shiplane.domain.errors import InvalidError
from shiplane.engine.project_source import ProjectSource
from shiplane.gitops.charts import ChartAccess, ChartCache
from shiplane.gitops.pins import PinChart
from shiplane.gitops.workspace import GitWorkspace
from shiplane.sources.credentials import load_credentials

CHARTS_DIR = "charts"
"""The chart cache, under the workspace's cache directory."""


class NoChartError(InvalidError):
    """A pin names a chart for an app that has no `chart` in shiplane.yaml."""


class PinnedContentSource:
    """Implements `gitops.renderers.context.PinnedContents` for the engine."""

    def __init__(
        self, workspace: GitWorkspace, source: ProjectSource, charts: ChartCache | None = None
    ) -> None:
        self.workspace = workspace
        self.source = source
        self.charts = charts or ChartCache(workspace.cache_dir / CHARTS_DIR)

    async def chart(self, app: str, chart: PinChart) -> Path:
        project = self.source.project
        config = project.apps[app].chart if app in project.apps else None
        if config is None:
            raise NoChartError(f"app {app!r} has no chart in shiplane.yaml (apps.{app}.chart)")
        access = await asyncio.to_thread(self._access, config.repository, chart.name)
        pulled = await self.charts.fetch(
            config.repository, chart.name, chart.version, chart.digest, access
        )
        return pulled.directory

    def _access(self, repository: str, name: str) -> ChartAccess:
        for source in self.source.project.sources.values():
            spec = source.spec
            if (
                isinstance(spec, ChartSourceConfig)
                and spec.repository.rstrip("/") == repository.rstrip("/")
                and spec.name == name
            ):
                host = (
                    repository.removeprefix("oci://").partition("/")[0]
                    if repository.startswith("oci://")
                    else httpx.URL(repository).host
                )
                credentials = load_credentials(spec.credentials, host)
                return ChartAccess(
                    username=credentials.username if credentials else None,
                    password=credentials.password if credentials else None,
                    ca_file=os.path.expanduser(spec.ca_file) if spec.ca_file else None,
                    plain_http=spec.insecure,
                )
        return ChartAccess()

    async def tree_at(self, tree: Path, app: str, manifests_path: str, commit: str) -> Path:
        urls = [
            source.spec.url
            for source in self.source.project.sources.values()
            if isinstance(source.spec, GitSourceConfig) and app in source.apps
        ]
        return await self.workspace.tree_with(tree, manifests_path, commit, fetch_from=urls)
