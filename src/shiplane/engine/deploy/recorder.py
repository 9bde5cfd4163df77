"""Recording a deploy as it goes: one run row per app, its steps, and the audit trail.

Every write runs in a worker thread (the store is synchronous) and in its own short
transaction, so a crash leaves each finished step recorded and nothing half-written.

Records may be deferred (`start`, `step(..., defer=True)`): they are written in the
transaction of the next write, so a run costs a few transactions, not two per step. The
runner defers a step's end, which then lands together with the next step's start; a
crash in between loses only the end of a step whose effects are repeated on resume.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from shiplane.engine.leases import Fence
from shiplane.store import audit, deploys
from shiplane.store.db import Database

T = TypeVar("T")


class RunRecorder:
    """The run rows of one deploy group (one environment, one or more apps)."""

    def __init__(
        self,
        db: Database,
        *,
        group_id: str,
        environment: str,
        apps: Sequence[str],
        kind: str,
        release_id: str | None,
        actor: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        fence: Fence | None = None,
        replica: str | None = None,
    ) -> None:
        self.db = db
        self.fence = fence
        self.replica = replica
        self.group_id = group_id
        self.environment = environment
        self.apps = list(apps)
        self.kind = kind
        self.release_id = release_id
        self.actor = actor
        self.clock = clock
        # Known before the rows are written, so that a deferred start can be used at once.
        self.run_ids: dict[str, str] = {app: deploys.new_run_id() for app in self.apps}
        self._step_started: dict[tuple[str, str], datetime] = {}
        self._deferred: list[Callable[[Session], None]] = []
        self.ran_before: bool | None = None
        """Whether runs of this group were recorded before this one (known once the run
        rows are written; None until then). No earlier run means nothing of this group
        was pushed: each run records its commit step before it pushes."""

    async def write(self, fn: Callable[[Session], T]) -> T:
        """One transaction, with the deferred records first; with a fence, only while
        the leases are still ours."""
        fence = self.fence
        deferred, self._deferred = self._deferred, []

        def run(s: Session) -> T:
            if fence is not None:
                fence.check(s)
            for record in deferred:
                record(s)
            return fn(s)

        try:
            return await asyncio.to_thread(self.db.transact, run)
        except BaseException:
            self._deferred[:0] = deferred  # not written: keep them for the next write
            raise

    async def flush(self) -> None:
        """Write the deferred records now."""
        if self._deferred:
            await self.write(lambda s: None)

    def assert_held(self) -> None:
        """Before a side effect outside the database (push, apply, prune)."""
        if self.fence is not None:
            self.fence.assert_held()

    def start(self, details: dict[str, Any]) -> None:
        """The run rows (deferred: written with the first step or the finish)."""

        def fn(s: Session) -> None:
            self.ran_before = deploys.group_has_runs(s, self.group_id)
            # The caller holds its apps exclusively: a run of theirs still `running`
            # belongs to a deploy that died (or lost its lease) before finishing.
            deploys.interrupt_running_runs(
                s,
                reason="the deploy stopped before finishing (its server died or lost its "
                "lease); a later deploy took over",
                environment=self.environment,
                apps=self.apps,
                now=self.clock,
            )
            for app in self.apps:
                deploys.start_run(
                    s,
                    group_id=self.group_id,
                    environment=self.environment,
                    app=app,
                    kind=self.kind,
                    release_id=self.release_id,
                    actor=self.actor,
                    run_id=self.run_ids[app],
                    replica=self.replica,
                    now=self.clock,
                )
            self._audit(s, f"{self.kind}.started", details)

        self._deferred.append(fn)

    def _audit(self, s: Session, action: str, details: dict[str, Any]) -> None:
        audit.append_event(
            s,
            actor=self.actor,
            action=action,
            subject=f"{self.kind}/{self.group_id}",
            details={"apps": self.apps, "release": self.release_id, **details},
            app=self.apps[0] if len(self.apps) == 1 else None,
            environment=self.environment,
            now=self.clock,
        )

    async def step(
        self,
        name: str,
        outcome: str,
        *,
        apps: Sequence[str] | None = None,
        detail: str | dict[str, str] | None = None,
        audit_details: dict[str, Any] | None = None,
        defer: bool = False,
    ) -> None:
        """Record step `name` for `apps` (default: all); `detail` may differ per app.
        With `audit_details`, the step also writes one audit event. With `defer`, the
        record is written by the next write."""
        targets = list(apps) if apps is not None else self.apps
        now = self.clock()

        def fn(s: Session) -> None:
            for app in targets:
                key = (app, name)
                started = self._step_started.setdefault(key, now)
                text = detail.get(app) if isinstance(detail, dict) else detail
                deploys.record_step(
                    s,
                    self.run_ids[app],
                    name=name,
                    outcome=outcome,
                    started_at=started,
                    detail=text,
                    now=lambda: now,  # when the step ended, even if written later
                )
                if outcome != "running":
                    self._step_started.pop(key, None)
            if audit_details is not None:
                self._audit(s, f"{self.kind}.{name}", {"outcome": outcome, **audit_details})

        if defer:
            self._deferred.append(fn)
        else:
            await self.write(fn)

    async def finish(
        self,
        status: str,
        *,
        git_commit: str | None,
        errors: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        def fn(s: Session) -> None:
            for app in self.apps:
                deploys.finish_run(
                    s,
                    self.run_ids[app],
                    status=status,
                    git_commit=git_commit,
                    error=(errors or {}).get(app),
                    now=self.clock,
                )
            self._audit(
                s,
                f"{self.kind}.{status}",
                {"commit": git_commit, "errors": errors or {}, **(details or {})},
            )

        await self.write(fn)
