"""Fault injection for crash tests: kill the process at a named point.

Inert unless `SHIPLANE_FAULT_POINT` is set when the process starts. Its value is a point
name, optionally `NAME:N` to die the N-th time the point is reached (default the first).
The process then sends itself SIGKILL — no cleanup, no flush — exactly like `kill -9`
or a node losing power, which is what the crash tests must survive.

With `SHIPLANE_FAULT_ACTION=stop` it sends itself SIGSTOP instead: the process freezes
at the point (as in a long GC pause or a frozen VM) until someone sends SIGCONT, which
is how the lease tests pause a replica past its lease.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "SHIPLANE_FAULT_POINT"
ACTION_ENV = "SHIPLANE_FAULT_ACTION"

POINTS = (
    "release.stored",  # a release and its audit event written, its auto-promotions not yet
    "promotion.started",  # the promotion became Waiting (committed)
    "promotion.gates_passed",  # became Deploying, nothing pushed yet
    "deploy.before_push",  # rendered and dry-run, commit not pushed
    "deploy.after_push",  # pushed to git, nothing applied
    "deploy.during_apply",  # some objects applied, not all
    "deploy.after_apply",  # applied, inventory and deployment rows not recorded
    "promotion.deployed",  # became Verifying
    "verify.during",  # a verification round recorded, checks not finished
    "strategy.during",  # a strategy round recorded (a canary step), steps not finished
    "pull_request.opened",  # pull-request mode: the pull request is open, not recorded
    "pull_request.waiting",  # pull-request mode: looked at the open pull request, waiting
    "promotion.aborted",  # an abort request recorded (and its forge duties), nothing else done
    "forge.duty_done",  # a commit status set / pull request closed on the forge, not recorded
    "promotion.verified",  # Succeeded, downstream auto-promotions created
    "rollback.started",  # the failed promotion became RollingBack
    "rollback.after_push",  # the rollback's commit is pushed, not applied
)


def _parse(raw: str | None) -> tuple[str, int] | None:
    if not raw:
        return None
    name, _, count = raw.partition(":")
    if name not in POINTS:
        raise ValueError(f"{FAULT_ENV}={raw!r}: unknown point (known: {', '.join(POINTS)})")
    return name, int(count or "1")


_TARGET = _parse(os.environ.get(FAULT_ENV))
_SIGNAL = signal.SIGSTOP if os.environ.get(ACTION_ENV) == "stop" else signal.SIGKILL
_seen: dict[str, int] = {}


def fault_point(name: str) -> None:
    """Die here if the crash test asked for it; otherwise do nothing (the common case)."""
    if _TARGET is None or _TARGET[0] != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == _TARGET[1]:
        os.kill(os.getpid(), _SIGNAL)
