"""Pushes to the GitOps branch announced by a forge: which environments they sync, and
that the sync waits for the head watcher's new head, or runs now when the watcher saw
it first. The workspace, deployer and watcher are test doubles (their real selves run in
tests/integration/forge/test_push_webhook_sync.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

from shiplane.config import load_project_text
from shiplane.engine.git_push import GitPushFollower, PushPlan, environments_of
from shiplane.engine.project_source import ProjectSource
from tests.support.api_project import PROJECT_YAML

OLD, NEW = "a" * 40, "b" * 40


@dataclass
class Workspace:
    remote_url: str = "http://127.0.0.1:3000/shop/gitops.git"
    branch: str = "main"
    diffs: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)

    async def changes(self, old: str, new: str, *paths: str) -> list[tuple[str, str]]:
        self.diffs.append((old, new))
        return self.changed


@dataclass
class Deployer:
    synced: list[tuple[str, str]] = field(default_factory=list)

    async def sync(self, environment: str, *, actor: str, wait: bool) -> Any:
        self.synced.append((environment, actor))

        @dataclass
        class Outcome:
            git_commit: str = NEW

        return Outcome()


@dataclass
class Watcher:
    woken: int = 0

    def wake(self) -> None:
        self.woken += 1


def follower(workspace: Workspace | None = None) -> tuple[GitPushFollower, Deployer, Watcher]:
    deployer, watcher = Deployer(), Watcher()
    source = ProjectSource.of(load_project_text(PROJECT_YAML))
    made = GitPushFollower(
        cast(Any, workspace or Workspace()), cast(Any, deployer), source, cast(Any, watcher)
    )
    made.start(OLD)
    return made, deployer, watcher


def test_environments_are_those_with_a_file_under_envs_in_graph_order() -> None:
    paths = ["envs/prod/web/a.yaml", "README.md", "envs/dev/x/pin", "envs/qa/web/a", "envs/dev"]
    assert environments_of(paths, ["dev", "staging", "prod"]) == ["dev", "prod"]
    assert environments_of(["apps/web/app.yaml", "shiplane.yaml"], ["dev"]) == []


def test_only_the_gitops_repository_and_branch_are_followed() -> None:
    pushes, _, _ = follower()
    assert pushes.follows("http://127.0.0.1:3000/shop/gitops", "refs/heads/main")
    assert pushes.follows("https://bot:tok@127.0.0.1:3000/shop/gitops.git/", "refs/heads/main")
    assert not pushes.follows("http://127.0.0.1:3000/shop/gitops.git", "refs/heads/feature")
    assert not pushes.follows("http://127.0.0.1:3000/shop/other.git", "refs/heads/main")
    assert not pushes.follows("http://127.0.0.1:3000/shop/gitops.git", "refs/tags/main")


def test_a_push_syncs_its_environments_once_the_watcher_sees_the_head() -> None:
    pushes, deployer, watcher = follower()

    async def scenario() -> None:
        plan = pushes.plan(NEW, ["envs/prod/web/x.yaml", "envs/dev/web/y.yaml"])
        assert plan == PushPlan(NEW, ("dev", "prod"), by_diff=False)
        pushes.pushed(plan, actor="hook:gitea")
        assert watcher.woken == 1 and deployer.synced == []  # not before the new head
        await pushes.on_head(NEW)
        await pushes.on_head(NEW)  # told again: nothing pending any more

    asyncio.run(scenario())
    assert deployer.synced == [("dev", "hook:gitea"), ("prod", "hook:gitea")]


def test_a_push_outside_envs_syncs_nothing_and_does_not_wake() -> None:
    pushes, deployer, watcher = follower()
    pushes.pushed(pushes.plan(NEW, ["README.md"]), actor="hook:gitea")
    asyncio.run(pushes.on_head(NEW))
    assert watcher.woken == 0 and deployer.synced == []


def test_without_a_file_list_the_diff_to_the_new_head_decides() -> None:
    workspace = Workspace(changed=[("M", "envs/staging/web/values.yaml")])
    pushes, deployer, _ = follower(workspace)

    async def scenario() -> None:
        pushes.pushed(pushes.plan(NEW, None), actor="hook:gh")
        await pushes.on_head(NEW)

    asyncio.run(scenario())
    assert workspace.diffs == [(OLD, NEW)]
    assert deployer.synced == [("staging", "hook:gh")]


def test_a_head_the_watcher_saw_first_is_synced_at_once() -> None:
    workspace = Workspace(changed=[("A", "envs/dev/web/new.yaml")])
    pushes, deployer, _ = follower(workspace)

    async def scenario() -> None:
        await pushes.on_head(NEW)  # a poll came first: nothing announced yet
        assert deployer.synced == []
        pushes.pushed(pushes.plan(NEW, None), actor="hook:gitea")
        await asyncio.wait_for(asyncio.gather(*pushes._tasks), timeout=5)

    asyncio.run(scenario())
    assert workspace.diffs == [(OLD, NEW)]  # from the head before the one seen
    assert deployer.synced == [("dev", "hook:gitea")]
