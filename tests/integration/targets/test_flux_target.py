"""The `flux` deploy target against Flux's real source-controller and kustomize-controller:
Shiplane pushes the pin commit (with the rendered objects), asks Flux to reconcile, and
waits until the Kustomization is Ready at that commit; Flux's failure fails the deploy
with Flux's own words; `shiplane validate` finds a missing Kustomization; `shiplane
import flux` proposes environments from the cluster's objects."""

from __future__ import annotations

import asyncio
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
from lightkube.types import PatchType

from shiplane.engine.deploy import DeployStepError
from shiplane.engine.diffs import AppDiff, Diffs
from shiplane.localcluster.cluster import ClusterState
from shiplane.store import deploys
from shiplane.store.matrix import get_matrix
from shiplane.store.records import MatrixCell, ReleaseRecord
from tests.integration.targets.conftest import TargetEnv, create_flux_objects
from tests.support.flux import FluxControllers, Kustomization
from tests.support.git_http import GitHttpServer
from tests.support.gitops_repo import build_repo

pytestmark = [pytest.mark.cluster, pytest.mark.flux]

SHIPLANE = str(Path(sys.executable).with_name("shiplane"))


def flux_project(kubeconfig: Path, ns: str, kustomization: str = "shop") -> str:
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
              via: flux
              flux:
                gitRepository: {ns}/gitops
                kustomization: {ns}/{kustomization}
                timeout: 90s
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {{path: apps/web, render: plain}}
        """)


@dataclass
class FluxEnv(TargetEnv):
    flux: FluxControllers

    def diffs(self, release: ReleaseRecord) -> tuple[AppDiff, str]:
        """(git's head against live, the release's pins against live as text)."""
        d = self.deployer
        diffs = Diffs(self.db, self.project, d.workspace, d.clusters, d)

        async def go() -> tuple[AppDiff, str]:
            try:
                head = await diffs.git_vs_live("staging", "web")
                (ahead,) = await diffs.release_vs_live(release, "staging")
                return head, ahead.text
            finally:
                await d.clusters.close()

        return asyncio.run(go())


@pytest.fixture
def flux_env(
    tmp_path: Path,
    cluster: ClusterState,
    kube: Client,
    namespace: str,
    flux: FluxControllers,
    git_http: GitHttpServer,
) -> Iterator[FluxEnv]:
    bare, work = build_repo(git_http.root / namespace, flux_project(cluster.kubeconfig, namespace))
    env = FluxEnv(**TargetEnv.engine(tmp_path, bare, work), namespace=namespace, kube=kube,
                  bare=bare, checkout=work, flux=flux)  # fmt: skip
    yield env
    env.db.close()


def test_a_promotion_via_flux_is_ready_at_its_commit(flux_env: FluxEnv, git_http: GitHttpServer):
    env = flux_env
    ns = env.namespace
    create_flux_objects(env.kube, ns, git_http.repo_url(git_http.root / ns / "gitops.git"),
                        "./rendered/staging/web")  # fmt: skip
    outcome = env.deploy(env.release("1.0.0"))
    assert outcome.ok, outcome.errors  # type: ignore[attr-defined]
    commit = outcome.git_commit  # type: ignore[attr-defined]
    kustomization = env.kube.get(Kustomization, "shop", namespace=ns)
    # Flux applied exactly this commit (it was asked to; its interval is ten minutes).
    assert kustomization["status"]["lastAppliedRevision"] == f"main@sha1:{commit}"
    assert env.image() == "registry.example/shop/web:1.0.0"
    web = outcome.apps["web"]  # type: ignore[attr-defined]
    assert web.health == "Healthy" and web.objects >= 2  # Flux's inventory
    with env.db.session() as s:
        (row,) = get_matrix(s, apps=["web"], environments=["staging"])
        inventory = deploys.get_inventory(s, "staging", "web") or []
    assert row.git_commit == commit and row.sync_status == "Synced" and row.health == "Healthy"
    assert {"kind": "Deployment", "name": "web"}.items() <= next(
        o for o in inventory if o["kind"] == "Deployment"
    ).items()
    # The commit carries the rendered objects Flux applied, beside the pin.
    shown = subprocess.run(
        ["git", "show", f"{commit}:rendered/staging/web/manifests.yaml"],
        cwd=git_http.root / ns / "gitops.git", capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    images = [
        c["image"]
        for o in yaml.safe_load_all(shown) if o and o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
    ]  # fmt: skip
    assert images == ["registry.example/shop/web:1.0.0"]

    # `shiplane diff`: the server-side dry-run of the rendered objects against what Flux
    # applied: nothing for git's head, the new image for the next release's pins.
    nothing, preview = env.diffs(env.release("1.1.0"))
    assert not nothing.changed, nothing.text
    assert "+      - image: registry.example/shop/web:1.1.0" in preview or (
        "registry.example/shop/web:1.1.0" in preview and "web:1.0.0" in preview
    ), preview

    # A second promotion: Flux moves to the new commit.
    second = env.deploy(env.release("1.1.0"))
    assert second.ok and second.git_commit != commit  # type: ignore[attr-defined]
    assert env.image() == "registry.example/shop/web:1.1.0"


def test_a_flux_failure_fails_the_deploy_with_fluxs_message(
    flux_env: FluxEnv, git_http: GitHttpServer
):
    env = flux_env
    ns = env.namespace
    # Flux waits for a Deployment that nothing creates, then gives up on the commit.
    missing = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "absent", "namespace": ns}
    url = git_http.repo_url(git_http.root / ns / "gitops.git")
    create_flux_objects(
        env.kube, ns, url, "./rendered/staging/web", health_checks=[missing], timeout="5s"
    )
    with pytest.raises(DeployStepError) as failed:
        env.deploy(env.release("2.0.0"))
    message = str(failed.value)
    assert "Kustomization" in message and f"{ns}/shop" in message
    assert "HealthCheckFailed" in message
    assert "health check failed" in message  # Flux's own message
    assert "not Ready" not in message  # Flux's verdict, not Shiplane's deadline
    with env.db.session() as s:
        (row,) = get_matrix(s, apps=["web"], environments=["staging"])
    assert row.health == "Degraded" and "HealthCheckFailed" in (row.health_reason or "")
    assert row.release_id is None  # Flux never reported the commit applied


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHIPLANE, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def test_validate_finds_a_missing_or_misplaced_kustomization(
    flux_env: FluxEnv, git_http: GitHttpServer
):
    env = flux_env
    ns = env.namespace
    config = env.checkout / "shiplane.yaml"
    missing = run_cli("validate", str(config))
    assert missing.returncode == 1
    assert f"GitRepository {ns}/gitops does not exist in the cluster of environment 'staging'" in (
        missing.stderr
    )
    assert "shiplane.yaml:12:9: environments.staging.deploy.flux:" in missing.stderr
    assert "environments.staging.deploy.flux" in missing.stderr
    create_flux_objects(env.kube, ns, git_http.repo_url(git_http.root / ns / "gitops.git"),
                        "./apps/web")  # fmt: skip
    misplaced = run_cli("validate", str(config))
    assert misplaced.returncode == 1
    assert "applies path './apps/web'" in misplaced.stderr
    assert "./rendered/staging/web" in misplaced.stderr


def test_import_flux_proposes_environments_from_the_cluster(
    cluster: ClusterState, flux_env: FluxEnv, git_http: GitHttpServer
):
    env = flux_env
    ns = env.namespace
    create_flux_objects(env.kube, ns, git_http.repo_url(git_http.root / ns / "gitops.git"),
                        "./envs/staging/web", name="web-staging")  # fmt: skip
    result = run_cli("import", "flux", "--kubeconfig", str(cluster.kubeconfig), "--cluster", "a")
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    staging = doc["environments"]["staging"]
    assert staging["deploy"]["flux"]["apps"]["web"] == {"kustomization": f"{ns}/web-staging"}
    assert staging["deploy"]["flux"]["gitRepository"] == f"{ns}/gitops"
    assert doc["clusters"]["a"] == {"kubeconfig": str(cluster.kubeconfig)}
    assert f"GitRepository {ns}/gitops: {git_http.repo_url(git_http.root / ns / 'gitops.git')}" in (
        result.stdout
    )


def test_matrix_health_follows_the_kustomization(flux_env: FluxEnv, git_http: GitHttpServer):
    """The heartbeat's refresh (engine/target_status.py) writes what Flux says, not what
    Shiplane's own watch would see."""
    from shiplane.engine import target_status
    from tests.support.flux import request_reconcile
    from tests.support.wait import wait_for

    env = flux_env
    ns = env.namespace
    create_flux_objects(env.kube, ns, git_http.repo_url(git_http.root / ns / "gitops.git"),
                        "./rendered/staging/web")  # fmt: skip
    assert env.deploy(env.release("3.0.0")).ok  # type: ignore[attr-defined]
    # Flux now waits for a Deployment nothing creates (`wait` would override healthChecks):
    # its Kustomization turns Ready=False.
    missing = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "absent", "namespace": ns}
    spec = {"wait": False, "healthChecks": [missing], "timeout": "5s"}
    env.kube.patch(Kustomization, "shop", {"spec": spec}, namespace=ns, patch_type=PatchType.MERGE)
    request_reconcile(env.kube, Kustomization, "shop", ns, "matrix-test")

    def refreshed() -> MatrixCell | None:
        async def go() -> None:
            d = env.deployer
            try:
                await target_status.refresh(
                    env.db, env.project, d.clusters.for_environment("staging"), ["staging"],
                    clock=d.clock, contains=d.workspace.contains, guard=lambda s, e: None,
                )  # fmt: skip
            finally:
                await d.clusters.close()

        asyncio.run(go())
        with env.db.session() as s:
            (cell,) = get_matrix(s, apps=["web"], environments=["staging"])
        if cell.health != "Degraded":
            status = env.kube.get(Kustomization, "shop", namespace=ns).get("status")
            raise AssertionError(f"{cell.health} {cell.health_reason}; Flux: {status}")
        return cell

    cell = wait_for(refreshed, timeout=90, interval=1, what="the matrix says Degraded")
    assert "HealthCheckFailed" in (cell.health_reason or "")
    assert cell.release_id is not None  # what Shiplane deployed stays recorded
