"""Follow shiplane.yaml at the head of the GitOps branch, without a restart.

Every `interval` seconds (and at once after Shiplane's own syncs and pushes moved the
head) the watcher asks the remote for the branch head (`git ls-remote`: no objects are
fetched when nothing moved). When the head moved and shiplane.yaml changed (its blob id
differs from the version in force and from the last one refused), the new text goes
through the same validation as `shiplane validate` and `serve`:

- valid: it replaces the project in force (engine/project_source.py), the parts adapt
  (`on_config_applied`), and `config.applied` is recorded in the audit trail;
- invalid: the last good version stays in force, the errors are kept for `status`,
  `/readyz` and `GET /api/v1/config`, and `config.rejected` is recorded with them.

Each audit event is recorded once per commit however many replicas follow the branch
(`append_event_once`). After the decision, `on_head_moved` listeners are told the new
head, whether shiplane.yaml changed or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import structlog
from sqlalchemy.orm import Session

from shiplane.config import ConfigError, ProjectConfig, load_project_bytes
from shiplane.engine.project_source import ProjectSource, RejectedConfig
from shiplane.gitops.workspace import GitWorkspace
from shiplane.store import audit
from shiplane.store.db import Database

log = structlog.get_logger(__name__)

CONFIG_FILE = "shiplane.yaml"
_MISSING = "(no shiplane.yaml)"  # stands for the blob id of a commit without the file
DEFAULT_POLL_SECONDS = 30.0
ACTOR = "shiplane"

ConfigListener = Callable[[ProjectConfig, ProjectConfig], Awaitable[None] | None]
"""(old project, new project), after a new version was put in force."""
HeadListener = Callable[[str], Awaitable[None]]
"""The new head commit, after the watcher decided about its shiplane.yaml."""

Outcome = Literal[
    "unchanged", "same-config", "applied", "rejected", "still-rejected", "not-followed"
]


@dataclass(frozen=True)
class HeadCheck:
    """What one look at the branch head found."""

    head: str
    outcome: Outcome


def config_problems(data: bytes | None) -> tuple[ProjectConfig | None, list[str]]:
    """Validate shiplane.yaml's bytes (None: the commit has no such file)."""
    if data is None:
        return None, [f"{CONFIG_FILE}: file not found at the repository root"]
    try:
        return load_project_bytes(data, CONFIG_FILE), []
    except ConfigError as exc:
        return None, [str(p) for p in exc.problems]


class GitHeadWatcher:
    """Polls the branch head; swaps valid new versions of shiplane.yaml in (when the
    source follows git: `source.following`), then tells `on_head_moved`."""

    def __init__(
        self,
        workspace: GitWorkspace,
        source: ProjectSource,
        db: Database,
        *,
        interval: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self.workspace = workspace
        self.source = source
        self.db = db
        self.interval = interval
        self.on_config_applied: list[ConfigListener] = []
        self.on_head_moved: list[HeadListener] = []
        """Told every new head after the config decision (pruning apps removed from git
        hooks in here)."""
        self._seen = source.version.commit
        self._blob: str | None = None  # shiplane.yaml's blob in force
        self._rejected_blob: str | None = None
        self.looks = 0  # looks at the head so far (tests wait on it)
        self._looking = asyncio.Lock()  # one look at a time (the loop, a test, a caller)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # --- lifecycle ------------------------------------------------------------------------

    async def prime(self) -> None:
        """Learn which shiplane.yaml is in force (its blob id), so that heads which leave
        it alone are recognised without reading it; `start` does it first."""
        if self._seen is None:  # a project from --config: heads count from the synced one
            with contextlib.suppress(Exception):
                self._seen = await self.workspace.head()
        if self._seen is not None and self._blob is None:
            with contextlib.suppress(Exception):  # unknown: the first change re-validates
                self._blob = await self.workspace.file_id(self._seen, CONFIG_FILE) or _MISSING

    async def start(self) -> None:
        """Look now, then every `interval` seconds and whenever a sync or push of the
        workspace saw a new head."""
        await self.prime()
        self.workspace.on_head.append(self._heard)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="git head watcher")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(ValueError):
            self.workspace.on_head.remove(self._heard)

    def wake(self) -> None:
        """Look at the head now instead of at the next poll."""
        self._wake.set()

    def _heard(self, sha: str) -> None:
        if sha != self._seen:
            self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.check()
            except Exception as exc:  # the remote may be down for a while: try again later
                log.warning("config.watch_failed", error=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)

    # --- one look -------------------------------------------------------------------------

    async def check(self) -> HeadCheck:
        """Look at the branch head once and act on what moved."""
        async with self._looking:
            try:
                return await self._check()
            finally:
                self.looks += 1

    async def _check(self) -> HeadCheck:
        head = await self.workspace.remote_head()
        if head == self._seen:
            return HeadCheck(head, "unchanged")
        # A project read from --config FILE is not replaced; the head listeners still run.
        outcome = await self._decide(head) if self.source.following else "not-followed"
        self._seen = head
        for listener in list(self.on_head_moved):
            try:
                await listener(head)
            except Exception:  # one listener's failure must not stop the others
                log.exception("config.head_listener_failed", commit=head)
        return HeadCheck(head, outcome)

    async def _decide(self, head: str) -> Outcome:
        blob = await self.workspace.file_id(head, CONFIG_FILE) or _MISSING
        if blob == self._blob and self.source.rejected is None:
            return "same-config"
        # (The version in force again after a refused one: applied anew below, so the fix
        # shows as applied and the refusal clears.)
        if blob == self._rejected_blob:
            return "still-rejected"
        tree = await self.workspace.read_tree(head)
        path = tree / CONFIG_FILE
        data = path.read_bytes() if path.is_file() else None
        project, errors = config_problems(data)
        if project is None:
            self._rejected_blob = blob
            rejected = self.source.reject(head, errors)
            await self._record_rejected(rejected)
            return "rejected"
        previous = self.source.version
        self.source.apply(project, head, tree)
        self._blob, self._rejected_blob = blob, None
        log.info("config.applied", commit=head, previous=previous.commit)
        for listener in list(self.on_config_applied):
            try:
                result = listener(previous.project, project)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("config.listener_failed", commit=head)
        await self._record(
            "config.applied",
            head,
            {"commit": head, "previous": previous.commit, "branch": self.workspace.branch},
        )
        return "applied"

    async def _record_rejected(self, rejected: RejectedConfig) -> None:
        log.warning(
            "config.rejected",
            commit=rejected.commit,
            in_force=self.source.version.commit,
            errors=list(rejected.errors[:5]),
            count=rejected.count,
        )
        await self._record(
            "config.rejected",
            rejected.commit,
            {
                "commit": rejected.commit,
                "in_force": self.source.version.commit,
                "branch": self.workspace.branch,
                "errors": list(rejected.errors),
                "count": rejected.count,
            },
        )

    async def _record(self, action: str, commit: str, details: dict[str, Any]) -> None:
        def write(s: Session) -> None:
            audit.append_event_once(s, actor=ACTOR, action=action, subject=commit, details=details)

        try:
            await asyncio.to_thread(self.db.transact, write)
        except Exception as exc:  # the decision stands; the trail misses one event
            log.warning("config.audit_failed", action=action, commit=commit, error=str(exc))


@dataclass(frozen=True)
class GoodVersion:
    project: ProjectConfig
    commit: str
    tree: Path


async def last_good_version(workspace: GitWorkspace, *, limit: int = 50) -> GoodVersion | None:
    """The newest commit of the branch (as last fetched) whose shiplane.yaml is valid,
    among the last `limit` commits that changed it: where a server starts when the head's
    version is broken (it then refuses the head as a running server would)."""
    for info in await workspace.log(CONFIG_FILE, limit=limit):
        tree = await workspace.read_tree(info.sha)
        path = tree / CONFIG_FILE
        project, _errors = config_problems(path.read_bytes() if path.is_file() else None)
        if project is not None:
            return GoodVersion(project, info.sha, tree)
    return None
