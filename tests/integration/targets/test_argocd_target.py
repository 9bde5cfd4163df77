"""The `argocd` deploy target against Argo CD's real repo server and application controller
(tests/support/argocd.py): Shiplane pushes the pin commit (with the rendered objects),
asks the Application to refresh and sync that commit, and waits until it is Synced and
Healthy there; Argo CD's failure fails the deploy with Argo CD's own words; `shiplane
validate` finds a missing Application or one of another path; `shiplane import argocd`
proposes environments from the cluster's Applications."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from lightkube import Client
from lightkube.resources.core_v1 import ConfigMap

from shiplane.engine.deploy import DeployStepError
from shiplane.localcluster.cluster import ClusterState
from shiplane.store import deploys
from shiplane.store.matrix import get_matrix
from tests.integration.targets.conftest import TargetEnv
from tests.support.argocd import ARGOCD_NAMESPACE, ArgoCD, application
from tests.support.gitops_repo import build_repo

pytestmark = [pytest.mark.cluster, pytest.mark.argocd]

SHIPLANE = str(Path(sys.executable).with_name("shiplane"))


def argocd_project(kubeconfig: Path, ns: str, app_name: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: shiplane/v1alpha1
        project: shop
        clusters:
          local: {{kubeconfig: {kubeconfig}}}
        environments:
          staging:
            cluster: local
            namespace: {ns}
            deploy:
              via: argocd
              argocd:
                application: {ARGOCD_NAMESPACE}/{app_name}
                timeout: 90s
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {{path: apps/web, render: plain}}
        """)


@dataclass
class ArgoEnv(TargetEnv):
    argocd: ArgoCD
    app_name: str

    def create_application(self, path: str = "rendered/staging/web", project: str = "default"):
        spec = application(self.app_name, f"file://{self.bare}", path,
                           self.argocd.destination, self.namespace)  # fmt: skip
        spec["spec"]["project"] = project
        self.argocd.apply(spec)


@pytest.fixture
def argo_env(
    tmp_path: Path, cluster: ClusterState, kube: Client, namespace: str, argocd: ArgoCD
) -> Iterator[ArgoEnv]:
    app_name = f"web-{namespace}"
    bare, work = build_repo(tmp_path, argocd_project(cluster.kubeconfig, namespace, app_name))
    env = ArgoEnv(**TargetEnv.engine(tmp_path, bare, work), namespace=namespace, kube=kube,
                  bare=bare, checkout=work, argocd=argocd, app_name=app_name)  # fmt: skip
    yield env
    env.db.close()
    argocd.delete(app_name)


def test_a_promotion_via_argocd_is_synced_and_healthy_at_its_commit(argo_env: ArgoEnv) -> None:
    env = argo_env
    env.create_application()
    outcome = env.deploy(env.release("1.0.0"))
    assert outcome.ok, outcome.errors
    commit = outcome.git_commit
    app = env.argocd.application(env.app_name)
    # Argo CD synced exactly this commit, because it was asked to (no automated sync).
    assert app["status"]["sync"] == {
        **app["status"]["sync"],
        "status": "Synced",
        "revision": commit,
    }
    assert app["status"]["health"]["status"] == "Healthy"
    operation = app["status"]["operationState"]
    assert operation["phase"] == "Succeeded"
    assert operation["operation"]["initiatedBy"] == {"username": "shiplane"}
    assert env.image() == "registry.example/shop/web:1.0.0"
    assert env.kube.get(ConfigMap, "web-config", namespace=env.namespace).data == {
        "greeting": "hello"
    }
    web = outcome.apps["web"]
    assert web.health == "Healthy" and web.objects == 3  # status.resources
    with env.db.session() as s:
        (row,) = get_matrix(s, apps=["web"], environments=["staging"])
        inventory = deploys.get_inventory(s, "staging", "web") or []
    assert row.git_commit == commit and row.sync_status == "Synced" and row.health == "Healthy"
    assert {o["kind"] for o in inventory} >= {"Deployment", "Service", "ConfigMap"}

    # The next promotion: Argo CD moves to the new commit.
    second = env.deploy(env.release("1.1.0"))
    assert second.ok and second.git_commit != commit
    assert env.argocd.application(env.app_name)["status"]["sync"]["revision"] == second.git_commit
    assert env.image() == "registry.example/shop/web:1.1.0"


def test_an_argocd_failure_fails_the_deploy_with_argo_cds_message(argo_env: ArgoEnv) -> None:
    env = argo_env
    # A project that refuses ConfigMaps: Argo CD will not apply the app's web-config.
    env.argocd.apply(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": f"no-cm-{env.namespace}", "namespace": ARGOCD_NAMESPACE},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": "*"}],
                "namespaceResourceBlacklist": [{"group": "", "kind": "ConfigMap"}],
            },
        }
    )
    env.create_application(project=f"no-cm-{env.namespace}")
    with pytest.raises(DeployStepError) as failed:
        env.deploy(env.release("2.0.0"))
    message = str(failed.value)
    assert f"Application {ARGOCD_NAMESPACE}/{env.app_name}" in message
    assert "ConfigMap" in message and "not permitted" in message  # Argo CD's own words
    with env.db.session() as s:
        (row,) = get_matrix(s, apps=["web"], environments=["staging"])
    assert row.release_id is None  # Argo CD never reported the commit applied


def test_a_degraded_app_fails_the_deploy_with_its_resources_health_message(
    argo_env: ArgoEnv,
) -> None:
    env = argo_env
    env.create_application()
    # kwok never makes these pods Ready: the Deployment (progressDeadlineSeconds: 5)
    # reports ProgressDeadlineExceeded and Argo CD's health check says Degraded.
    with pytest.raises(DeployStepError) as failed:
        env.deploy(env.release("3.0.0-crashloop"))
    message = str(failed.value)
    assert f"Application {ARGOCD_NAMESPACE}/{env.app_name}: Degraded" in message
    # Argo CD 3 keeps resources' health messages in its resource tree (Redis), not in the
    # Application: the degraded Deployment is named from a live look at it.
    assert f"Deployment {env.namespace}/web: ProgressDeadlineExceeded" in message
    app = env.argocd.application(env.app_name)
    assert app["status"]["sync"]["status"] == "Synced"  # applied, then unhealthy
    with env.db.session() as s:
        (row,) = get_matrix(s, apps=["web"], environments=["staging"])
    assert row.health == "Degraded"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHIPLANE, *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def test_validate_finds_a_missing_or_misplaced_application(argo_env: ArgoEnv) -> None:
    env = argo_env
    config = env.checkout / "shiplane.yaml"
    missing = run_cli("validate", str(config))
    assert missing.returncode == 1
    assert (
        f"Application {ARGOCD_NAMESPACE}/{env.app_name} does not exist in the cluster of "
        "environment 'staging'"
    ) in missing.stderr
    assert "environments.staging.deploy.argocd" in missing.stderr
    env.create_application(path="apps/web")
    misplaced = run_cli("validate", str(config))
    assert misplaced.returncode == 1
    assert "applies path 'apps/web'" in misplaced.stderr
    assert "./rendered/staging/web" in misplaced.stderr


def test_import_argocd_proposes_environments_from_the_clusters_applications(
    cluster: ClusterState, argo_env: ArgoEnv
) -> None:
    env = argo_env
    env.create_application(path="envs/staging/web")
    result = run_cli("import", "argocd", "--kubeconfig", str(cluster.kubeconfig), "--cluster", "a")
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    staging = doc["environments"]["staging"]
    assert staging["deploy"]["argocd"]["apps"]["web"] == {
        "application": f"{ARGOCD_NAMESPACE}/{env.app_name}"
    }
    assert staging["namespace"] == env.namespace
    assert doc["clusters"]["a"] == {"kubeconfig": str(cluster.kubeconfig)}
    assert doc["apps"]["web"]["manifests"] == {"path": "envs/staging/web", "render": "plain"}
    assert f"# Application {ARGOCD_NAMESPACE}/{env.app_name}: file://{env.bare} main" in (
        result.stdout
    )
