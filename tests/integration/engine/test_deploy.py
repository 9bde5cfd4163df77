"""The deploy primitive on real git and a real local cluster."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Service

from shiplane.engine.deploy import DeployError
from shiplane.gitops import gitcmd
from shiplane.store import audit, deploys
from shiplane.store.matrix import get_matrix
from tests.integration.engine.conftest import GitopsEnv
from tests.support.gitops_repo import PLAIN_APP, git

pytestmark = pytest.mark.cluster

T = TypeVar("T")
WEB = "registry.example/shop/web"


def run(env: GitopsEnv, scenario: Callable[[], Awaitable[T]]) -> T:
    """One event loop per scenario; cluster clients are closed with it."""

    async def main() -> T:
        try:
            return await scenario()
        finally:
            await env.deployer.clusters.close()

    return asyncio.run(main())


def exists(env: GitopsEnv, kind: Any, name: str, ns: str) -> bool:
    try:
        env.kube.get(kind, name, namespace=ns)
    except ApiError as exc:
        if exc.status.code == 404:
            return False
        raise
    return True


def test_plain_kustomize_and_helm_apps_deploy_and_become_healthy(gitops_env: GitopsEnv):
    env = gitops_env
    rel = env.release(
        web=f"{WEB}:1.0.0",
        api="registry.example/shop/api:2.0.0",
        pay="registry.example/shop/pay:3.0.0",
    )
    outcome = run(env, lambda: env.deployer.deploy(rel, "dev", actor="alice"))

    assert outcome.ok and outcome.commit_created
    assert {a: o.health for a, o in outcome.apps.items()} == dict.fromkeys(
        ["web", "api", "pay"], "Healthy"
    )
    ns = env.namespaces["dev"]
    images = {
        name: env.kube.get(Deployment, name, namespace=ns).spec.template.spec.containers[0].image
        for name in ("web", "api", "pay")
    }
    assert images == {
        "web": f"{WEB}:1.0.0",
        "api": "registry.example/shop/api:2.0.0",
        "pay": "registry.example/shop/pay:3.0.0",
    }
    web = env.kube.get(Deployment, "web", namespace=ns)
    assert web.metadata.labels["app.kubernetes.io/managed-by"] == "shiplane"
    assert web.metadata.annotations["shiplane.dev/owner"] == "dev/web"

    subject = env.commits()[0]
    assert subject.startswith("promote web, api, pay") and subject.endswith("to dev")
    body = git(env.bare, "log", "-1", "--format=%B", "main")
    assert f"Shiplane-Release: {rel.id}" in body and "Shiplane-Actor: alice" in body
    pin = git(env.bare, "show", "main:envs/dev/web/shiplane.pin.yaml")
    assert f"{WEB}:1.0.0" in pin and rel.id in pin

    with env.db.session() as s:
        cells = {
            c.app: c
            for c in get_matrix(s, apps=["web", "api", "pay"], environments=["dev", "prod"])
            if c.environment == "dev"
        }
        runs = deploys.list_runs(s, environment="dev").items
        actions = [e.action for e in audit.list_events(s, limit=100).items]
        assert audit.verify_chain(s).ok
    assert {c.release_id for c in cells.values()} == {rel.id}
    assert {c.health for c in cells.values()} == {"Healthy"}
    assert {c.git_commit for c in cells.values()} == {outcome.git_commit}
    assert {r.status for r in runs} == {"succeeded"} and len(runs) == 3
    steps = [s.name for s in runs[0].steps]
    # The commit's tree is the one rendered before it: no second render, no second row.
    assert steps == ["render", "dry-run", "commit", "apply", "prune", "health"]
    for action in (
        "deploy.started",
        "deploy.commit",
        "deploy.apply",
        "deploy.prune",
        "deploy.health",
        "deploy.succeeded",
    ):
        assert action in actions


def test_repeating_a_deploy_is_idempotent(gitops_env: GitopsEnv):
    env = gitops_env
    rel = env.release(web=f"{WEB}:1.0.0")
    ns = env.namespaces["dev"]

    async def twice() -> tuple[Any, Any, str, str]:
        first = await env.deployer.deploy(
            rel, "dev", actor="bot", apps=["web"], promotion_id="prm-same"
        )
        rv1 = env.kube.get(Deployment, "web", namespace=ns).metadata.resourceVersion
        second = await env.deployer.deploy(
            rel, "dev", actor="bot", apps=["web"], promotion_id="prm-same"
        )
        rv2 = env.kube.get(Deployment, "web", namespace=ns).metadata.resourceVersion
        return first, second, rv1, rv2

    first, second, rv1, rv2 = run(env, twice)
    assert first.commit_created and not second.commit_created
    assert first.git_commit == second.git_commit
    assert len(env.commits()) == 2  # initial + exactly one promotion commit
    assert second.apps["web"].changed == 0 and rv1 == rv2


def test_a_promotion_syncs_git_once_and_runs_few_git_processes(gitops_env: GitopsEnv):
    env = gitops_env
    first, second = env.release(web=f"{WEB}:1.0.0"), env.release(web=f"{WEB}:1.1.0")
    run(env, lambda: env.deployer.deploy(first, "dev", actor="a", apps=["web"], wait=False))
    before = gitcmd.STARTED.copy()
    outcome = run(
        env, lambda: env.deployer.deploy(second, "dev", actor="a", apps=["web"], wait=False)
    )
    used = gitcmd.STARTED - before
    assert outcome.ok and outcome.commit_created
    assert used["fetch"] == 1  # one sync per deploy (there were two)
    assert used["push"] == 1
    # The working copy stood at origin: no checkout, reset or clean on the hot path.
    assert not used & Counter({"checkout": 1, "reset": 1, "clean": 1})
    # A first run of its group pushed nothing: no trailer lookup; the pin is tracked
    # since the first deploy: committed without a separate `add`.
    assert not used & Counter({"log": 1, "add": 1}), used
    # 22 git processes per deploy before issue 11 (two full syncs, two tree exports).
    assert sum(used.values()) <= 10, used
    image = env.kube.get(Deployment, "web", namespace=env.namespaces["dev"])
    assert image.spec.template.spec.containers[0].image == f"{WEB}:1.1.0"


def test_invalid_manifest_is_rejected_by_dry_run_before_git(gitops_env: GitopsEnv):
    env = gitops_env
    env.edit("apps/web/app.yaml", PLAIN_APP.replace("replicas: 2", "replicas: two"))
    before = env.commits()
    rel = env.release(web=f"{WEB}:1.0.0")
    with pytest.raises(DeployError) as err:
        run(env, lambda: env.deployer.deploy(rel, "dev", actor="alice", apps=["web"]))
    assert err.value.step == "dry-run"
    assert "Deployment/" in str(err.value) and "replicas" in str(err.value)
    assert env.commits() == before  # nothing reached git
    assert not exists(env, Deployment, "web", env.namespaces["dev"])
    with env.db.session() as s:
        (run_row,) = deploys.list_runs(s, environment="dev").items
    assert run_row.status == "failed" and run_row.steps[-1].name == "dry-run"
    assert "replicas" in (run_row.error or "")


def test_removing_an_object_from_git_prunes_it_and_prune_all_is_refused(gitops_env: GitopsEnv):
    env = gitops_env
    ns = env.namespaces["dev"]
    rel = env.release(web=f"{WEB}:1.0.0")
    run(env, lambda: env.deployer.deploy(rel, "dev", actor="alice", apps=["web"]))
    assert exists(env, ConfigMap, "web-config", ns)

    without_cm = PLAIN_APP.split("---\napiVersion: v1\nkind: ConfigMap")[0]
    env.edit("apps/web/app.yaml", without_cm, "drop the config map")
    outcome = run(env, lambda: env.deployer.sync("dev", actor="alice"))
    assert outcome.apps["web"].pruned == 1
    assert not exists(env, ConfigMap, "web-config", ns)
    assert exists(env, Service, "web", ns)

    # Render nothing at all: the prune would delete everything, so it is refused.
    env.edit("apps/web/app.yaml", "# emptied\n", "empty the app")
    with pytest.raises(DeployError) as err:
        run(env, lambda: env.deployer.sync("dev", actor="alice"))
    assert err.value.step == "prune" and "refus" in str(err.value).lower()
    assert exists(env, Deployment, "web", ns) and exists(env, Service, "web", ns)


def test_failing_rollout_is_reported_degraded_before_the_deadline(gitops_env: GitopsEnv):
    env = gitops_env
    failing = PLAIN_APP.replace(
        "labels: {app: web}}", "labels: {app: web, shiplane.dev/simulate: crashloop}}"
    )
    env.edit("apps/web/app.yaml", failing)
    rel = env.release(web=f"{WEB}:6.6.6")
    with pytest.raises(DeployError) as err:
        run(env, lambda: env.deployer.deploy(rel, "dev", actor="alice", apps=["web"]))
    outcome = err.value.outcome
    assert outcome is not None and err.value.step == "health"
    assert outcome.apps["web"].health == "Degraded"
    assert "ProgressDeadlineExceeded" in outcome.apps["web"].health_reason
    with env.db.session() as s:
        (cell,) = [c for c in get_matrix(s, apps=["web"], environments=["dev"])]
    assert cell.health == "Degraded" and cell.release_id == rel.id


def test_two_environments_on_two_clusters_deploy_in_parallel(
    gitops_env: GitopsEnv, second_cluster: Any, tmp_path: Any
):
    from shiplane.config import load_project
    from shiplane.engine.clusters import ClusterPool
    from shiplane.engine.deploy import Deployer
    from shiplane.gitops.workspace import GitWorkspace
    from tests.support.clusters import kube_client, make_namespace
    from tests.support.gitops_repo import build_repo, project_yaml

    kube_b = kube_client(second_cluster)
    ns_b = make_namespace(kube_b, "prod")
    env = gitops_env
    config = project_yaml(
        {"one": env.project.clusters["local"].kubeconfig, "two": second_cluster.kubeconfig},
        {"dev": ("one", env.namespaces["dev"]), "prod": ("two", ns_b)},
    )
    bare, work = build_repo(tmp_path / "two", config)
    project = load_project(work / "shiplane.yaml")
    deployer = Deployer(
        env.db,
        GitWorkspace(str(bare), tmp_path / "cache2"),
        project,
        ClusterPool(project, work),
        health_timeout=60,
    )
    rel = env.release(web=f"{WEB}:2.0.0")

    async def both() -> list[Any]:
        try:
            return list(
                await asyncio.gather(
                    deployer.deploy(rel, "dev", actor="a", apps=["web"]),
                    deployer.deploy(rel, "prod", actor="a", apps=["web"]),
                )
            )
        finally:
            await deployer.clusters.close()

    dev, prod = asyncio.run(both())
    assert dev.ok and prod.ok
    assert env.kube.get(Deployment, "web", namespace=env.namespaces["dev"])
    assert (
        kube_b.get(Deployment, "web", namespace=ns_b).spec.template.spec.containers[0].image
        == f"{WEB}:2.0.0"
    )
    log = subprocess_log(bare)
    assert sum(1 for line in log if line.startswith("promote web")) == 2


def subprocess_log(bare: Any) -> list[str]:
    return git(bare, "log", "--format=%s", "main").splitlines()
