"""The git head watcher on a real GitOps repository (a bare repository on disk) and a real
store (SQLite and PostgreSQL): shiplane.yaml at the branch head is followed without a
restart; a broken version is refused once, the last good one stays in force; two
replicas following one branch record each decision once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shiplane.config import ProjectConfig, load_project
from shiplane.engine.git_watch import GitHeadWatcher, last_good_version
from shiplane.engine.project_source import ProjectSource
from shiplane.gitops.workspace import GitWorkspace
from shiplane.store import audit
from shiplane.store.db import Database
from tests.support.gitops_repo import build_repo, git, project_yaml

pytestmark = pytest.mark.anyio


def config(*envs: str, extra: str = "") -> str:
    kubeconfig = Path("/nonexistent/kubeconfig")  # never connected to here
    return project_yaml({"local": kubeconfig}, {e: ("local", f"ns-{e}") for e in envs}, extra)


BROKEN = config("dev", "prod").replace("after: [dev]", "after: [dve]")  # unknown environment


class Repo:
    def __init__(self, tmp: Path) -> None:
        self.bare, self.work = build_repo(tmp, config("dev", "prod"))

    def push(self, files: dict[str, str], message: str = "change") -> str:
        for rel, content in files.items():
            path = self.work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD")


async def follower(repo: Repo, cache: Path, db: Database, interval: float = 3600) -> GitHeadWatcher:
    """What `serve --repo` builds: the project read at the head, followed from there."""
    workspace = GitWorkspace(str(repo.bare), cache)
    head = await workspace.sync()
    tree = await workspace.read_tree(head)
    source = ProjectSource(
        load_project(tree / "shiplane.yaml"), commit=head, base_dir=tree, following=True
    )
    return GitHeadWatcher(workspace, source, db, interval=interval)


def config_events(db: Database) -> list[tuple[str, str, dict[str, object]]]:
    with db.session(readonly=True) as s:
        events = audit.list_events(s, limit=500).items
    return [
        (e.action, e.subject, dict(e.details))
        for e in sorted(events, key=lambda e: e.seq)
        if e.action.startswith("config.")
    ]


async def test_a_valid_change_is_applied_with_one_audit_event(tmp_path: Path, db: Database):
    repo = Repo(tmp_path)
    watcher = await follower(repo, tmp_path / "cache", db)
    source = watcher.source
    first = source.version.commit
    swaps: list[tuple[ProjectConfig, ProjectConfig]] = []
    heads: list[str] = []
    watcher.on_config_applied.append(lambda old, new: swaps.append((old, new)))

    async def moved(head: str) -> None:
        heads.append(head)

    watcher.on_head_moved.append(moved)
    await watcher.prime()
    assert (await watcher.check()).outcome == "unchanged"
    new = repo.push({"shiplane.yaml": config("dev", "qa", "prod")}, "add qa")
    check = await watcher.check()

    assert (check.head, check.outcome) == (new, "applied")
    assert source.project.environment_order() == ["dev", "qa", "prod"]
    assert source.version.commit == new and source.rejected is None
    assert [(list(o.environments), list(n.environments)) for o, n in swaps] == [
        (["dev", "prod"], ["dev", "qa", "prod"])
    ]
    assert heads == [new]
    assert config_events(db) == [
        ("config.applied", new, {"commit": new, "previous": first, "branch": "main"})
    ]


async def test_a_broken_version_is_refused_and_the_last_good_one_stays(
    tmp_path: Path, db: Database
):
    repo = Repo(tmp_path)
    watcher = await follower(repo, tmp_path / "cache", db)
    source = watcher.source
    good = source.version.commit
    await watcher.prime()
    bad = repo.push({"shiplane.yaml": BROKEN}, "typo")
    assert (await watcher.check()).outcome == "rejected"
    assert source.version.commit == good
    assert list(source.project.environments["prod"].after.environments) == ["dev"]
    rejected = source.rejected
    assert rejected is not None and rejected.commit == bad and rejected.count == 1
    assert rejected.errors[0].startswith("shiplane.yaml:")
    assert "dve" in rejected.errors[0]

    # Commits that leave the broken file as it is (a deploy's pin) refuse nothing new.
    later = repo.push({"envs/dev/web/pin.txt": "x\n"}, "a pin")
    assert (await watcher.check()).outcome == "still-rejected"
    assert source.rejected is not None and source.rejected.commit == bad

    fixed = repo.push({"shiplane.yaml": config("dev", "prod", extra=", selfHeal: true")})
    assert (await watcher.check()).outcome == "applied"
    assert source.rejected is None
    # A revert to the version in force is a fix too: applied, the refusal cleared.
    again = repo.push({"shiplane.yaml": BROKEN}, "typo again")
    assert (await watcher.check()).outcome == "rejected"
    reverted = repo.push({"shiplane.yaml": config("dev", "prod", extra=", selfHeal: true")})
    assert (await watcher.check()).outcome == "applied"
    assert source.version.commit == reverted and source.rejected is None
    assert source.project.environments["dev"].self_heal
    events = config_events(db)
    assert [(a, s) for a, s, _ in events] == [
        ("config.rejected", bad),
        ("config.applied", fixed),
        ("config.rejected", again),
        ("config.applied", reverted),
    ]
    details = events[0][2]
    assert details["in_force"] == good and details["count"] == 1
    assert "dve" in str(details["errors"])
    assert later not in {s for _, s, _ in events}


async def test_a_head_that_leaves_shiplane_yaml_alone_changes_nothing(tmp_path: Path, db: Database):
    repo = Repo(tmp_path)
    watcher = await follower(repo, tmp_path / "cache", db)
    before = watcher.source.version
    await watcher.prime()
    head = repo.push({"apps/web/extra.yaml": "kind: ConfigMap\n"}, "manifests only")
    check = await watcher.check()
    assert (check.head, check.outcome) == (head, "same-config")
    assert watcher.source.version is before
    assert config_events(db) == []


async def test_a_missing_shiplane_yaml_is_refused(tmp_path: Path, db: Database):
    repo = Repo(tmp_path)
    watcher = await follower(repo, tmp_path / "cache", db)
    git(repo.work, "rm", "-q", "shiplane.yaml")
    gone = repo.push({}, "remove the config")
    await watcher.prime()
    assert (await watcher.check()).outcome == "rejected"
    rejected = watcher.source.rejected
    assert rejected is not None and rejected.commit == gone
    assert "file not found" in rejected.errors[0]


async def test_a_project_from_a_file_is_not_replaced_but_heads_are_told(
    tmp_path: Path, db: Database
):
    repo = Repo(tmp_path)
    workspace = GitWorkspace(str(repo.bare), tmp_path / "cache")
    await workspace.sync()
    fixed = ProjectSource(load_project(repo.work / "shiplane.yaml"))  # as with --config FILE
    watcher = GitHeadWatcher(workspace, fixed, db)
    heads: list[str] = []

    async def moved(head: str) -> None:
        heads.append(head)

    watcher.on_head_moved.append(moved)
    await watcher.prime()
    assert (await watcher.check()).outcome == "unchanged"
    new = repo.push({"shiplane.yaml": config("dev", "qa", "prod")}, "add qa")
    assert (await watcher.check()).outcome == "not-followed"
    assert list(fixed.project.environments) == ["dev", "prod"] and fixed.version.commit is None
    assert heads == [new]
    assert config_events(db) == []


async def test_two_replicas_record_each_decision_once(tmp_path: Path, db: Database):
    repo = Repo(tmp_path)
    replicas = [await follower(repo, tmp_path / f"cache-{i}", db) for i in range(2)]
    bad = repo.push({"shiplane.yaml": BROKEN}, "typo")
    outcomes = await asyncio.gather(*(w.check() for w in replicas))
    fixed = repo.push({"shiplane.yaml": config("dev", "qa", "prod")}, "fix")
    outcomes += await asyncio.gather(*(w.check() for w in replicas))
    assert [c.outcome for c in outcomes] == ["rejected", "rejected", "applied", "applied"]
    assert all(w.source.version.commit == fixed for w in replicas)
    assert [(a, s) for a, s, _ in config_events(db)] == [
        ("config.rejected", bad),
        ("config.applied", fixed),
    ]


async def test_the_running_watcher_follows_pushes_and_shiplanes_own_syncs(
    tmp_path: Path, db: Database
):
    repo = Repo(tmp_path)
    polling = await follower(repo, tmp_path / "cache-a", db, interval=0.2)
    # Polls once an hour: only a sync of its workspace (a deploy's) makes it look.
    woken = await follower(repo, tmp_path / "cache-b", db)
    await polling.start()
    await woken.start()
    try:
        await wait_until(lambda: woken.looks == 1, "the first look, at start")
        new = repo.push({"shiplane.yaml": config("dev", "qa", "prod")}, "add qa")
        await wait_until(lambda: polling.source.version.commit == new, "the poll to apply it")
        assert woken.looks == 1 and woken.source.version.commit != new
        await woken.workspace.sync()
        await wait_until(lambda: woken.source.version.commit == new, "the sync to wake it")
    finally:
        await polling.stop()
        await woken.stop()
    assert "qa" in woken.source.project.environments


async def test_a_server_starting_on_a_broken_head_finds_the_last_good_version(
    tmp_path: Path,
):
    repo = Repo(tmp_path)
    good = git(repo.work, "rev-parse", "HEAD")
    repo.push({"README.md": "hello\n"}, "unrelated")
    repo.push({"shiplane.yaml": BROKEN}, "typo")
    workspace = GitWorkspace(str(repo.bare), tmp_path / "cache")
    await workspace.sync()
    found = await last_good_version(workspace)
    assert found is not None and found.commit == good
    assert list(found.project.environments) == ["dev", "prod"]


async def wait_until(condition: object, what: str, seconds: float = 20.0) -> None:
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
