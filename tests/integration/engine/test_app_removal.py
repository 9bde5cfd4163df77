"""Removing an app from an environment in git, on real git and a real local cluster: a
sync of the whole environment deletes its objects (prune enabled, with the prune's
safety), or leaves them and shows the app orphaned (prune disabled); visibly in the
deploy history and the audit trail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Service

from shiplane.config import load_project
from shiplane.engine.clusters import ClusterHandle, ClusterPool
from shiplane.engine.deploy import Deployer, DeployError
from shiplane.engine.drift import DriftController
from shiplane.gitops.pins import pin_path
from shiplane.gitops.workspace import GitWorkspace
from shiplane.kube.refs import ObjRef
from shiplane.localcluster.cluster import ClusterState
from shiplane.store import audit, deploys
from shiplane.store.db import Database
from shiplane.store.matrix import get_matrix_rows, list_orphans
from tests.integration.engine.conftest import GitopsEnv
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import build_repo, project_yaml

pytestmark = pytest.mark.cluster

T = TypeVar("T")
WEB = "registry.example/shop/web"
PAY = "registry.example/shop/pay"


@pytest.fixture
def removal_env(tmp_path: Path, cluster: ClusterState, kube: Client) -> Iterator[GitopsEnv]:
    """dev prunes (up to 80% of its objects at once); prod keeps what leaves git."""
    namespaces = {"dev": make_namespace(kube, "dev"), "prod": make_namespace(kube, "prod")}
    config = project_yaml(
        {"local": cluster.kubeconfig},
        {"dev": ("local", namespaces["dev"]), "prod": ("local", namespaces["prod"])},
    )
    for name, prune in (("dev", "{maxFraction: 0.8}"), ("prod", "{enabled: false}")):
        ns = f"namespace: {namespaces[name]}"
        config = config.replace(ns, f"{ns}, prune: {prune}")
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


def runs_of(env: GitopsEnv, environment: str, app: str) -> list[Any]:
    with env.db.session() as s:
        return list(deploys.list_runs(s, environment=environment, app=app).items)


def events(env: GitopsEnv, action: str, environment: str) -> list[Any]:
    with env.db.session() as s:
        return list(audit.list_events(s, action=action, environment=environment).items)


def test_removing_an_app_from_git_deletes_its_objects_and_an_emptied_env_is_refused(
    removal_env: GitopsEnv,
):
    env = removal_env
    ns = env.namespaces["dev"]
    rel = env.release(web=f"{WEB}:1.0.0", pay=f"{PAY}:1.0.0")
    run(env, lambda: env.deployer.deploy(rel, "dev", actor="alice", apps=["web", "pay"]))
    assert exists(env, Deployment, "web", ns) and exists(env, Deployment, "pay", ns)
    keep = {"metadata": {"annotations": {"shiplane.dev/prune": "false"}}}
    env.kube.patch(ConfigMap, "web-config", keep, namespace=ns)

    # web leaves dev in git: 3 of the environment's 4 objects (75%, the limit is 80%).
    head = env.edit(pin_path("dev", "web"), None, "remove web from dev")
    outcome = run(env, lambda: env.deployer.sync("dev", actor="bob"))
    assert outcome.ok and outcome.git_commit == head
    assert outcome.apps["web"].removed == "removed from git: deleted 2, kept 1 (opt-out)"
    assert outcome.apps["web"].pruned == 2 and outcome.apps["pay"].objects == 1
    assert not exists(env, Deployment, "web", ns) and not exists(env, Service, "web", ns)
    assert exists(env, ConfigMap, "web-config", ns)  # opted out of prune
    assert exists(env, Deployment, "pay", ns)

    # History names the removed app, with what was done, at which commit.
    latest = runs_of(env, "dev", "web")[0]
    assert (latest.kind, latest.status, latest.actor, latest.git_commit) == (
        "sync", "succeeded", "bob", head,
    )  # fmt: skip
    assert [(s.name, s.detail) for s in latest.steps] == [
        ("remove", "removed from git: deleted 2, kept 1 (opt-out)")
    ]
    # The audit trail (and so the event stream) lists the objects.
    (removed,) = events(env, "app.removed", "dev")
    assert removed.app == "web" and removed.actor == "bob"
    assert removed.details["commit"] == head and removed.details["deleted_count"] == 2
    assert sorted(removed.details["deleted"]) == sorted(
        [f"Deployment/{ns}/web", f"Service/{ns}/web"]
    )
    assert removed.details["kept_opt_out"] == [f"ConfigMap/{ns}/web-config"]
    # Gone from the inventory and the matrix.
    with env.db.session() as s:
        assert deploys.get_inventory(s, "dev", "web") is None
        cells = get_matrix_rows(s, apps=["web", "pay"], environments=["dev"])
    assert [(c["app"], c["git_commit"] is not None) for c in cells] == [
        ("web", False), ("pay", True),
    ]  # fmt: skip

    # Nothing removed since: the watcher's entry point records nothing.
    assert run(env, lambda: env.deployer.prune_removed("dev", actor="watcher")) is None
    assert len(runs_of(env, "dev", "web")) == 2  # the deploy and the removal

    # The last app leaves too: envs/dev/ is empty, 100% of the objects. Refused.
    head = env.edit(pin_path("dev", "pay"), None, "empty dev")
    with pytest.raises(DeployError) as err:
        run(env, lambda: env.deployer.prune_removed("dev", actor="watcher"))
    assert err.value.step == "remove"
    for part in ("refusing to remove 1 app(s) from dev (pay)", "100%", "80%", "emptied"):
        assert part in str(err.value)
    assert exists(env, Deployment, "pay", ns)
    with env.db.session() as s:
        assert deploys.get_inventory(s, "dev", "pay")  # untouched
    refused = runs_of(env, "dev", "pay")[0]
    assert refused.status == "failed" and "refusing" in (refused.error or "")
    assert refused.git_commit == head and refused.steps[-1].name == "remove"
    assert [e.app for e in events(env, "app.removed", "dev")] == ["web"]


def test_with_prune_disabled_the_objects_stay_and_the_app_is_orphaned(removal_env: GitopsEnv):
    env = removal_env
    ns = env.namespaces["prod"]
    rel = env.release(web=f"{WEB}:1.0.0", pay=f"{PAY}:1.0.0")
    run(env, lambda: env.deployer.deploy(rel, "prod", actor="alice", apps=["web", "pay"]))

    head = env.edit(pin_path("prod", "web"), None, "remove web from prod")
    outcome = run(env, lambda: env.deployer.sync("prod", actor="bob", wait=False))
    text = "orphaned: removed from git, prune disabled (3 objects kept)"
    assert outcome.apps["web"].removed == text
    assert exists(env, Deployment, "web", ns) and exists(env, ConfigMap, "web-config", ns)
    assert [(s.name, s.detail) for s in runs_of(env, "prod", "web")[0].steps] == [("remove", text)]
    (orphaned,) = events(env, "app.orphaned", "prod")
    assert orphaned.app == "web" and orphaned.details["commit"] == head
    assert orphaned.details["kept_count"] == 3

    with env.db.session() as s:
        (cell,) = get_matrix_rows(s, apps=["web"], environments=["prod"])
        orphans = list_orphans(s, environments=["prod"])
        assert "web" not in deploys.running_in(s, "prod")
    assert cell["orphaned"] is True and cell["sync_status"] == "Orphaned"
    assert cell["orphaned_reason"].startswith(f"removed from git at {head[:12]}, prune disabled")
    assert [(o["app"], o["environment"]) for o in orphans] == [("web", "prod")]

    # Already orphaned: a later sync records nothing new about it.
    runs = len(runs_of(env, "prod", "web"))
    run(env, lambda: env.deployer.sync("prod", actor="bob", wait=False))
    assert run(env, lambda: env.deployer.prune_removed("prod", actor="watcher")) is None
    assert len(runs_of(env, "prod", "web")) == runs

    # Promoted again: part of prod again, no longer orphaned.
    run(env, lambda: env.deployer.deploy(rel, "prod", actor="alice", apps=["web"], wait=False))
    with env.db.session() as s:
        (cell,) = get_matrix_rows(s, apps=["web"], environments=["prod"])
        assert not list_orphans(s, environments=["prod"])
    assert cell["orphaned"] is False and cell["sync_status"] == "Synced"


def test_an_app_no_longer_defined_in_shiplane_yaml_is_removed(removal_env: GitopsEnv):
    env = removal_env
    ns = env.namespaces["dev"]
    rel = env.release(web=f"{WEB}:1.0.0", pay=f"{PAY}:1.0.0")
    run(env, lambda: env.deployer.deploy(rel, "dev", actor="alice", apps=["web", "pay"]))

    # pay leaves shiplane.yaml (its envs/dev/pay/ stays): the server loads the new project.
    config = (env.checkout / "shiplane.yaml").read_text()
    without_pay = config.split("  pay:\n")[0]
    head = env.edit("shiplane.yaml", without_pay, "drop pay")
    project = load_project(env.checkout / "shiplane.yaml")
    assert "pay" not in project.apps
    deployer = Deployer(
        env.db, env.deployer.workspace, project, ClusterPool(project, env.checkout),
        health_timeout=60,
    )  # fmt: skip
    env.deployer = deployer
    outcome = run(env, lambda: deployer.sync("dev", actor="bob"))
    text = "no longer defined in shiplane.yaml: deleted 1, kept 0 (opt-out)"
    assert outcome.apps["pay"].removed == text
    assert not exists(env, Deployment, "pay", ns) and exists(env, Deployment, "web", ns)
    (removed,) = events(env, "app.removed", "dev")
    assert removed.app == "pay" and removed.details["commit"] == head
    assert removed.details["reason"] == "no longer defined in shiplane.yaml"
    assert runs_of(env, "dev", "pay")[0].steps[0].detail == text


def test_drift_stops_watching_a_removed_app(removal_env: GitopsEnv):
    env = removal_env
    ns = env.namespaces["dev"]
    rel = env.release(web=f"{WEB}:1.0.0", pay=f"{PAY}:1.0.0")
    drift = DriftController(env.db, env.project)
    deployer = env.deployer
    deployer.on_applied = drift.on_applied

    async def removed(environment: str, app: str, handle: ClusterHandle) -> None:
        drift.on_removed(environment, app, handle.name)

    deployer.on_removed = removed
    web = ObjRef("apps/v1", "Deployment", ns, "web")
    cluster = env.project.environments["dev"].cluster

    def row(app: str) -> Any:
        with env.db.session() as s:
            return get_matrix_rows(s, apps=[app], environments=["dev"])[0]

    async def scenario() -> None:
        try:
            await deployer.deploy(rel, "dev", actor="alice", apps=["web", "pay"])
            await eventually(lambda: drift.status("dev", "web") is not None, "web watched")
            env.edit(pin_path("dev", "web"), None, "remove web from dev")
            await deployer.sync("dev", actor="bob", wait=False)
            assert drift.status("dev", "web") is None  # no longer compared
            assert drift.status("dev", "pay") is not None
            # The watch sees the deletion; nothing brings web back into the matrix. A live
            # edit of pay after it, on the same watch, shows when the deletion was seen.
            await eventually(lambda: drift.live(cluster, web) is None, "web deleted")
            await asyncio.to_thread(
                env.kube.patch, Deployment, "pay", {"spec": {"replicas": 3}}, namespace=ns,
                field_manager="kubectl-edit",
            )  # fmt: skip
            await eventually(
                lambda: row("pay")["sync_status"] == "OutOfSync", "pay's edit recorded"
            )
            detector = drift._clusters[cluster].detector
            assert detector is not None
            await detector.drain()  # every status write started so far
            gone = await asyncio.to_thread(row, "web")
            assert gone["updated_at"] is None and gone["sync_status"] is None  # no row
            assert (await asyncio.to_thread(row, "pay"))["git_commit"] is not None
        finally:
            await drift.stop()

    run(env, scenario)


async def eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for: {what}")
        await asyncio.sleep(0.05)


def test_a_push_that_removes_an_app_prunes_it_without_a_sync(removal_env: GitopsEnv):
    """The engine follows the branch head: the push that deletes envs/dev/web/ is enough
    (no `shiplane sync`); a push that deletes nothing under envs/ removes nothing, and a
    server starting after a removal catches up."""
    from shiplane.engine.git_removals import RemovalFollower
    from shiplane.engine.git_watch import GitHeadWatcher

    env = removal_env
    ns = env.namespaces["dev"]
    rel = env.release(web=f"{WEB}:1.0.0", pay=f"{PAY}:1.0.0")
    run(env, lambda: env.deployer.deploy(rel, "dev", actor="alice", apps=["web", "pay"]))
    deployer = env.deployer

    async def follow(after_start: Callable[[], str]) -> None:
        watcher = GitHeadWatcher(deployer.workspace, deployer.source, env.db, interval=3600)
        follower = RemovalFollower(deployer.workspace, deployer, deployer.source)
        watcher.on_head_moved.append(follower.on_head)
        await watcher.start()
        try:
            after_start()
            await watcher.check()
        finally:
            await watcher.stop()

    # A push that changes no app directory away: nothing is removed.
    run(env, lambda: follow(lambda: env.edit("README.md", "notes\n", "docs")))
    assert exists(env, Deployment, "web", ns) and events(env, "app.removed", "dev") == []

    # The push that deletes envs/dev/web/: its objects go, visibly, by Shiplane.
    head = ""

    def remove_web() -> str:
        nonlocal head
        head = env.edit(pin_path("dev", "web"), None, "remove web from dev")
        return head

    run(env, lambda: follow(remove_web))
    assert not exists(env, Deployment, "web", ns) and exists(env, Deployment, "pay", ns)
    (removed,) = events(env, "app.removed", "dev")
    assert (removed.app, removed.actor, removed.details["commit"]) == ("web", "shiplane", head)
    assert runs_of(env, "dev", "web")[0].kind == "sync"

    # Removed while no server ran: the first head a new follower is told covers every
    # environment.
    head = env.edit(pin_path("dev", "pay"), None, "pay leaves dev too")

    async def start_after_removal() -> None:
        await deployer.workspace.sync()
        follower = RemovalFollower(deployer.workspace, deployer, deployer.source)
        follower.start(await deployer.workspace.head())
        await follower.stop_when_done()

    # dev's maxFraction is 0.8: emptying it is refused, and that is recorded, not lost.
    run(env, start_after_removal)
    assert exists(env, Deployment, "pay", ns)
    refused = runs_of(env, "dev", "pay")[0]
    assert refused.status == "failed" and refused.git_commit == head
