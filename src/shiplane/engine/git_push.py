"""A push to the GitOps branch, announced by a forge's webhook, synced at once.

Without a webhook, the head watcher (git_watch.py) sees a new head at its next poll;
with one, `GitPushFollower.pushed` wakes it now. The rest is the head watcher's one
path: it decides about shiplane.yaml, the removal follower (git_removals.py) prunes what
the push deleted, and this follower, told the new head (`on_head`) after them, syncs the
environments the announced push touched, so a hand-made commit under `envs/<env>/`
reaches the cluster (and its drift shows) within seconds instead of waiting for
someone to run `shiplane sync`.

Which environments: those under whose `envs/<env>/` the pushed commits added, modified
or removed a file, as the payload lists them; when the payload does not list them all
(`paths` None), the diff between the head synced last and the new head. Heads nobody
announced (Shiplane's own deploy commits, pushes without a webhook) are not synced
here: they are the polls' and the deploys' business as before. Nor is an environment in
pull-request mode whose promotion waits for its pull request's merge: the merge is that
promotion's to judge (forge approvals) and to sync (its strategy).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from shiplane.engine.deploy import Deployer, DeployError
from shiplane.engine.git_watch import GitHeadWatcher
from shiplane.engine.project_source import ProjectSource
from shiplane.engine.sources.matching import normalise_git_url
from shiplane.gitops.errors import GitError
from shiplane.gitops.workspace import GitWorkspace

log = structlog.get_logger(__name__)

ENVS = "envs"


def environments_of(paths: Sequence[str], known: Sequence[str]) -> list[str]:
    """The environments (of `known`, in their order) with a file under `envs/<env>/`."""
    touched = {
        parts[1]
        for parts in (p.strip("/").split("/") for p in paths)
        if len(parts) >= 3 and parts[0] == ENVS
    }
    return [env for env in known if env in touched]


@dataclass(frozen=True)
class PushPlan:
    """What an announced push will do: sync `environments`, or, when the payload did
    not list its files (`by_diff`), the environments the diff to `after` touches."""

    commit: str | None
    environments: tuple[str, ...]
    by_diff: bool

    @property
    def syncs(self) -> bool:
        """Whether anything will be synced (else the push touched no environment)."""
        return self.by_diff or bool(self.environments)

    def describe(self) -> dict[str, object]:
        return {
            "commit": self.commit,
            "environments": list(self.environments),
            "by": "diff" if self.by_diff else "payload",
        }


class PushTarget(Protocol):
    """What the webhook intake (hooks.py) asks of the follower below."""

    def follows(self, url: str, ref: str | None) -> bool: ...

    def plan(self, after: str | None, paths: Sequence[str] | None) -> PushPlan: ...

    def pushed(self, plan: PushPlan, *, actor: str) -> None: ...


class GitPushFollower:
    """Syncs the environments of announced pushes (see the module docstring)."""

    def __init__(
        self,
        workspace: GitWorkspace,
        deployer: Deployer,
        source: ProjectSource,
        watcher: GitHeadWatcher,
        held_by_promotion: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self.workspace = workspace
        # Pull-request mode: an environment whose promotion waits for (or syncs) its pull
        # request's merge is that promotion's to sync: syncing the merge here would skip
        # its approvals and its strategy (engine/pull_request_hooks.py).
        self.held_by_promotion = held_by_promotion
        self.deployer = deployer
        self.source = source
        self.watcher = watcher
        self._wanted = normalise_git_url(workspace.remote_url)
        self._last: str | None = None  # the newest head this follower was told
        self._before: str | None = None  # the head before it
        self._pending: list[tuple[PushPlan, str]] = []  # (plan, actor) not yet synced
        self._one_at_a_time = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.synced: list[tuple[str, str]] = []  # (environment, head) synced (tests)

    def start(self, head: str) -> None:
        self._last = head

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- from the webhook intake ------------------------------------------------------------

    def follows(self, url: str, ref: str | None) -> bool:
        """Whether a push to `ref` of `url` is a push to the GitOps branch."""
        if ref not in (f"refs/heads/{self.workspace.branch}", self.workspace.branch):
            return False
        return normalise_git_url(url) == self._wanted

    def plan(self, after: str | None, paths: Sequence[str] | None) -> PushPlan:
        known = self.source.project.environment_order()
        if paths is None:
            return PushPlan(after, (), by_diff=True)
        return PushPlan(after, tuple(environments_of(paths, known)), by_diff=False)

    def pushed(self, plan: PushPlan, *, actor: str) -> None:
        """Sync what `plan` says once the head watcher sees the pushed head: wake it now.
        When it has already seen that head (a poll came first), sync now."""
        if not plan.syncs:
            return
        self._pending.append((plan, actor))
        if plan.commit is not None and plan.commit == self._last:
            self._spawn(self.on_head(plan.commit))
        self.watcher.wake()

    # --- from the head watcher --------------------------------------------------------------

    async def on_head(self, head: str) -> None:
        async with self._one_at_a_time:
            if head != self._last:
                self._before, self._last = self._last, head
            # The head was seen before the delivery came (a poll was first): its changes
            # are those since the head before it.
            previous = self._before
            pending, self._pending = self._pending, []
            if not pending:
                return
            environments: list[str] = []
            actors: list[str] = []
            for plan, actor in pending:
                actors.append(actor)
                if plan.by_diff:
                    environments += await self._diff(previous, head)
                else:
                    environments += plan.environments
            known = self.source.project.environment_order()
            wanted = [env for env in known if env in set(environments)]
            for environment in wanted:
                await self._sync(environment, head, actors[0])

    async def _diff(self, previous: str | None, head: str) -> list[str]:
        known = self.source.project.environment_order()
        if previous is None:  # nothing to compare with: every environment
            return list(known)
        try:
            changes = await self.workspace.changes(previous, head, ENVS)
        except GitError as exc:
            log.warning("push.diff_failed", head=head, error=str(exc))
            return list(known)
        return environments_of([path for _status, path in changes], known)

    async def _sync(self, environment: str, head: str, actor: str) -> None:
        if self.held_by_promotion is not None and await self.held_by_promotion(environment):
            log.info("push.left_to_promotion", environment=environment, commit=head)
            return
        try:
            outcome = await self.deployer.sync(environment, actor=actor, wait=False)
        except DeployError as exc:  # refused or failed: recorded as a failed run
            log.warning("push.sync_failed", environment=environment, error=str(exc))
            return
        except Exception:  # the next push or `shiplane sync` tries again
            log.exception("push.sync_crashed", environment=environment)
            return
        self.synced.append((environment, head))
        log.info("push.synced", environment=environment, commit=outcome.git_commit)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name="sync after push")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
