"""A real GitOps repository (bare, on disk), a project on the local cluster(s), a store."""

from __future__ import annotations

import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lightkube import Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, ServiceAccount

from shiplane.config import load_project
from shiplane.config.models import ProjectConfig
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy import Deployer
from shiplane.gitops.workspace import GitWorkspace
from shiplane.localcluster.cluster import ClusterState
from shiplane.store import releases
from shiplane.store.db import Database
from shiplane.store.records import ReleaseRecord
from tests.support.clusters import kube_client
from tests.support.wait import wait_for

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        [*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


PLAIN_APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: registry.example/shop/web:0.0.0}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello}
"""

KUSTOMIZE_BASE = {
    "kustomization.yaml": "resources: [deployment.yaml]\n",
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - {name: api, image: registry.example/shop/api:0.0.0}
""",
}

HELM_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: pay\nversion: 0.1.0\n",
    "values.yaml": "replicas: 1\nimage: registry.example/shop/pay:0.0.0\n",
    "templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers:
      - name: pay
        image: {{ .Values.image }}
""",
}


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


def make_namespace(kube: Client, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    kube.create(Namespace(metadata=ObjectMeta(name=name)))
    wait_for(
        lambda: kube.get(ServiceAccount, "default", namespace=name),
        timeout=30,
        what=f"default ServiceAccount in {name}",
    )
    return name


def project_yaml(
    clusters: dict[str, Path], envs: dict[str, tuple[str, str]], extra: str = ""
) -> str:
    lines = ["apiVersion: shiplane/v1alpha1", "project: shop", "clusters:"]
    lines += [f"  {name}: {{kubeconfig: {path}}}" for name, path in clusters.items()]
    lines.append("environments:")
    previous = None
    for env, (cluster, ns) in envs.items():
        after = f", after: [{previous}]" if previous else ""
        lines.append(f"  {env}: {{cluster: {cluster}, namespace: {ns}{after}{extra}}}")
        previous = env
    lines.append(
        textwrap.dedent("""\
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {path: apps/web, render: plain}
          api:
            images: [registry.example/shop/api]
            manifests: {path: apps/api, render: kustomize}
            dependsOn: [web]
          pay:
            images: [registry.example/shop/pay]
            manifests: {path: apps/pay, render: helm}
        """)
    )
    return "\n".join(lines)


def build_repo(tmp: Path, config: str) -> tuple[Path, Path]:
    bare = tmp / "gitops.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = tmp / "checkout"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    files = {"shiplane.yaml": config, "apps/web/app.yaml": PLAIN_APP}
    files.update({f"apps/api/{k}": v for k, v in KUSTOMIZE_BASE.items()})
    files.update({f"apps/pay/{k}": v for k, v in HELM_CHART.items()})
    for rel, content in files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(work, "checkout", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "initial")
    git(work, "push", "-q", "origin", "main")
    return bare, work


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


__all__ = ["GitopsEnv", "build_repo", "git", "kube_client", "make_namespace", "project_yaml"]
