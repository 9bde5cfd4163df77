"""Flux objects for the `flux` deploy target's tests: a GitRepository that clones the
GitOps repository over smart HTTP from the loopback git server, and Kustomizations that
apply Shiplane's rendered directories. Flux itself is the session's (tests.support.flux)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightkube import Client
from lightkube.resources.apps_v1 import Deployment

from shiplane.config import ProjectConfig, load_project
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy import Deployer
from shiplane.gitops.workspace import GitWorkspace
from shiplane.store import releases
from shiplane.store.db import Database
from shiplane.store.records import ReleaseRecord

# Flux never reconciles on its own during a test: only Shiplane's request can explain a
# new revision being applied.
INTERVAL = "10m"


@dataclass
class TargetEnv:
    """A project whose staging is handed off to a deploy target: its store, its deployer
    over the GitOps repository `bare` (checked out at `checkout`), and the app's
    namespace. Each target's tests extend it with their agent."""

    project: ProjectConfig
    db: Database
    deployer: Deployer
    namespace: str
    kube: Client
    bare: Path
    checkout: Path

    @staticmethod
    def engine(tmp_path: Path, bare: Path, checkout: Path) -> dict[str, Any]:
        """The project, a migrated SQLite store and a deployer, as `serve` wires them."""
        project = load_project(checkout / "shiplane.yaml")
        db = Database.from_url(f"sqlite:///{tmp_path / 'shiplane.db'}")
        db.migrate()
        workspace = GitWorkspace(str(bare), tmp_path / "git-cache")
        pool = ClusterPool(project, checkout)
        deployer = Deployer(db, workspace, project, pool, health_timeout=60)
        return {"project": project, "db": db, "deployer": deployer}

    def release(self, web: str) -> ReleaseRecord:
        with self.db.session() as s:
            rel, _ = releases.create_release(
                s, artifacts={"web": f"registry.example/shop/web:{web}"}, alias=None,
                labels={}, creator="ci",
            )  # fmt: skip
        return rel

    def deploy(self, release: ReleaseRecord) -> Any:
        async def go() -> object:
            try:
                return await self.deployer.deploy(release, "staging", actor="alice")
            finally:
                await self.deployer.clusters.close()

        return asyncio.run(go())

    def image(self) -> str:
        d = self.kube.get(Deployment, "web", namespace=self.namespace)
        return d.spec.template.spec.containers[0].image  # type: ignore[union-attr,index]


def create_flux_objects(
    kube: Client,
    namespace: str,
    url: str,
    path: str,
    *,
    name: str = "shop",
    health_checks: list[dict[str, Any]] | None = None,
    timeout: str = "60s",
) -> None:
    """A GitRepository `namespace/gitops` of `url` (branch main) and a Kustomization
    `namespace/name` applying `path` of it, waiting for what it applies to be healthy."""
    from tests.support.flux import GitRepository, Kustomization  # only where Flux runs

    kube.create(
        GitRepository(
            metadata={"name": "gitops", "namespace": namespace},
            spec={"url": url, "ref": {"branch": "main"}, "interval": INTERVAL, "timeout": "30s"},
        )
    )
    spec: dict[str, Any] = {
        "sourceRef": {"kind": "GitRepository", "name": "gitops"},
        "path": path,
        "prune": True,
        "wait": health_checks is None,  # Ready only once what it applied is healthy
        "interval": INTERVAL,
        "timeout": timeout,
    }
    if health_checks is not None:
        spec["healthChecks"] = health_checks
    kube.create(Kustomization(metadata={"name": name, "namespace": namespace}, spec=spec))
