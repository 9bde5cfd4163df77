"""Apps removed from git leave the cluster without anyone running `shiplane sync`.

Told each new head of the branch (`GitHeadWatcher.on_head_moved`), this runs the removal
part of a sync (`Deployer.prune_removed`) in the environments where the push deleted
something under `envs/<env>/`, and in every environment when shiplane.yaml changed (an
app may be gone from it). The first head it is told (at start) covers every
environment: apps removed while no server ran. Each replica does this; the app leases
of the deployer let one of them remove an app and the others find nothing left to do.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from shiplane.engine.deploy import Deployer, DeployError
from shiplane.engine.project_source import ProjectSource
from shiplane.gitops.errors import GitError
from shiplane.gitops.workspace import GitWorkspace

log = structlog.get_logger(__name__)

ACTOR = "shiplane"
CONFIG_FILE = "shiplane.yaml"


def environments_touched(changes: list[tuple[str, str]], known: list[str]) -> list[str]:
    """The environments (of `known`, in their order) where a push may have removed an
    app: every one when shiplane.yaml changed, else those with a file deleted under
    `envs/<env>/`."""
    if any(path == CONFIG_FILE for _, path in changes):
        return list(known)
    touched = {
        path.split("/")[1]
        for status, path in changes
        if status == "D" and path.startswith("envs/") and path.count("/") >= 2
    }
    return [env for env in known if env in touched]


class RemovalFollower:
    def __init__(self, workspace: GitWorkspace, deployer: Deployer, source: ProjectSource) -> None:
        self.workspace = workspace
        self.deployer = deployer
        self.source = source
        self._last: str | None = None  # the head handled last; None: none yet
        self._one_at_a_time = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self, head: str) -> None:
        """Catch up in the background (the server answers meanwhile): every environment
        at `head`, the head the server started at."""
        self._task = asyncio.create_task(self.on_head(head), name="removals at start")

    async def stop_when_done(self) -> None:
        """Wait for the catch-up `start` began (tests, tools)."""
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    async def on_head(self, head: str) -> None:
        async with self._one_at_a_time:
            await self._follow(head)

    async def _follow(self, head: str) -> None:
        if head == self._last:
            return
        try:
            environments = await self._environments(self._last, head)
        except GitError as exc:
            log.warning("removal.head_unreadable", head=head, error=str(exc))
            return  # the next head (or the next start) looks again
        self._last = head
        for environment in environments:
            try:
                outcome = await self.deployer.prune_removed(environment, actor=ACTOR)
            except DeployError as exc:  # refused or failed: recorded as a failed run
                log.warning("removal.failed", environment=environment, error=str(exc))
                continue
            if outcome is not None:
                log.info("removal.done", environment=environment, apps=sorted(outcome.apps))

    async def _environments(self, old: str | None, new: str) -> list[str]:
        known = self.source.project.environment_order()
        if old is None:
            return known
        return environments_touched(
            await self.workspace.changes(old, new, CONFIG_FILE, "envs"), known
        )
