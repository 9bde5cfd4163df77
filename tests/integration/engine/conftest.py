"""A real GitOps repository (bare, on disk), a project on the local cluster(s), a store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Namespace

from shiplane.config import ProjectConfig, load_project
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy import Deployer
from shiplane.gitops.workspace import GitWorkspace
from shiplane.localcluster.cluster import ClusterState
from shiplane.store import releases
from shiplane.store.db import Database
from shiplane.store.records import ReleaseRecord
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import build_repo, git, project_yaml


@dataclass
class GitopsEnv:
    """Everything a deploy test needs, on real components."""

    bare: Path
    checkout: Path
    project: ProjectConfig
    db: Database
    deployer: Deployer
    namespaces: dict[str, str]
    kube: Client

    def release(self, creator: str = "ci", **artifacts: str) -> ReleaseRecord:
        with self.db.session() as s:
            rel, _ = releases.create_release(
                s, artifacts=artifacts, alias=None, labels={}, creator=creator
            )
        return rel

    def edit(self, path: str, content: str | None, message: str = "edit") -> str:
        """A person's commit to the GitOps repository (pull, change, push)."""
        git(self.checkout, "pull", "-q", "--rebase")
        target = self.checkout / path
        if content is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        git(self.checkout, "add", "-A")
        git(self.checkout, "commit", "-q", "-m", message)
        git(self.checkout, "push", "-q", "origin", "HEAD:main")
        return git(self.checkout, "rev-parse", "HEAD")

    def commits(self) -> list[str]:
        return git(self.bare, "log", "--format=%s", "main").splitlines()


@pytest.fixture
def gitops_env(tmp_path: Path, cluster: ClusterState, kube: Client) -> Iterator[GitopsEnv]:
    namespaces = {"dev": make_namespace(kube, "dev"), "prod": make_namespace(kube, "prod")}
    config = project_yaml(
        {"local": cluster.kubeconfig},
        {"dev": ("local", namespaces["dev"]), "prod": ("local", namespaces["prod"])},
        extra=", selfHeal: true",
    )
    bare, work = build_repo(tmp_path, config)
    project = load_project(work / "shiplane.yaml")
    db = Database.from_url(f"sqlite:///{tmp_path / 'shiplane.db'}")
    db.migrate()
    workspace = GitWorkspace(str(bare), tmp_path / "git-cache")
    deployer = Deployer(db, workspace, project, ClusterPool(project, work), health_timeout=60)
    yield GitopsEnv(bare, work, project, db, deployer, namespaces, kube)
    db.close()
    for ns in namespaces.values():
        kube.delete(Namespace, ns)
