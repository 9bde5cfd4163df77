"""What pull-request mode must tell the forge, as persisted steps: commit statuses on the
merge commit (pending, then success or failure) and closing the pull request of a
promotion aborted in Shiplane (docs/forges.md, "Statuses and closing, across a crash").

A duty is written into the notification outbox (store/outbox.py) on the reserved channel
`@forge` in the very transaction that records what it reports (`enqueue_*`): it exists
if and only if that change committed, so a kill -9 between recording an outcome and
telling the forge leaves the duty pending, and the next process does it. The
notification worker (engine/notify.py) delivers it at least once, in order per
promotion (a pending status never lands after the final one), with its retries and
backoff; `perform` asks the forge first and does nothing when the forge already shows
it (the status is set, the pull request is closed), so a duty done just before a crash,
and done again after it, is done exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.engine.faults import fault_point
from shiplane.forge import CommitState, CommitStatus, ForgeDriver, PullRequestState, make_driver
from shiplane.store import outbox

ForgeFactory = Callable[[ProjectConfig], ForgeDriver]

FORGE_CHANNEL = "@forge"
"""The outbox channel of forge duties (no configured channel can be named so: channel
names are DNS labels)."""
FORGE_KIND = "forge"
STATUS_EVENT = "forge.status"
CLOSE_EVENT = "forge.close"
STATUS_CONTEXT = "shiplane/verification"
"""The commit status context verification reports under on the merge commit."""


def enqueue_status(
    s: Session,
    *,
    promotion_id: str,
    environment: str,
    sha: str,
    state: CommitState,
    text: str,
    url: str | None,
    now: datetime,
) -> None:
    """Set `state` on commit `sha` under `STATUS_CONTEXT`, once this transaction commits."""
    payload = {
        "sha": sha,
        "state": state,
        "context": STATUS_CONTEXT,
        "description": f"{environment}: {text}"[:140],
        "target_url": url,
    }
    _enqueue(s, STATUS_EVENT, promotion_id, payload, now)


def enqueue_close(
    s: Session, *, promotion_id: str, number: int, url: str | None, now: datetime
) -> None:
    """Close pull request `number` without merging it, once this transaction commits."""
    _enqueue(s, CLOSE_EVENT, promotion_id, {"number": number, "url": url}, now)


def _enqueue(
    s: Session, event: str, promotion_id: str, payload: Mapping[str, Any], now: datetime
) -> None:
    outbox.enqueue(
        s,
        channels={FORGE_CHANNEL: FORGE_KIND},
        event=event,
        promotion_id=promotion_id,
        payload=payload,
        now=now,
    )


async def perform(forge: ForgeDriver, event: str, payload: Mapping[str, Any]) -> str:
    """Do one duty on the forge unless the forge shows it done; what happened, in words.
    ValueError for a duty this version does not know (a permanent failure)."""
    if event == STATUS_EVENT:
        sha, state = str(payload["sha"]), payload["state"]
        context = str(payload.get("context") or STATUS_CONTEXT)
        current = {status.context: status for status in await forge.statuses(sha)}.get(context)
        if current is not None and current.state == state:
            return f"{context} already {state} on {sha[:12]}"
        status = CommitStatus(
            state, context, str(payload.get("description") or ""), payload.get("target_url")
        )
        await forge.set_status(sha, status)
        fault_point("forge.duty_done")
        return f"{context} set to {state} on {sha[:12]}"
    if event == CLOSE_EVENT:
        number = int(payload["number"])
        pull = await forge.pull_request(number)
        if pull.state is not PullRequestState.OPEN:
            return f"pull request #{number} already {pull.state.value}"
        await forge.close_pull_request(number)
        fault_point("forge.duty_done")
        return f"pull request #{number} closed"
    raise ValueError(f"unknown forge duty {event!r}")


def project_forge(project: ProjectConfig) -> ForgeDriver:
    """The driver of the project's forge, its token read now."""
    assert project.forge is not None
    return make_driver(project.forge)


@dataclass(frozen=True)
class DutyOutcome:
    ok: bool
    text: str
    """What was done, or why it failed (never the token)."""
    permanent: bool = False
    """A failure no retry fixes (no forge any more, a duty this version does not know)."""


async def tell_forge(
    project: ProjectConfig, make: ForgeFactory, event: str, payload: Mapping[str, Any]
) -> DutyOutcome:
    """One delivery of a forge duty by the notification worker."""
    if project.forge is None:
        return DutyOutcome(False, "no forge is configured any more", permanent=True)
    try:
        forge = make(project)
    except Exception as exc:  # an unreadable token: retried, it may be fixed
        return DutyOutcome(False, f"{type(exc).__name__}: {exc}")
    try:
        return DutyOutcome(True, await perform(forge, event, payload))
    except ValueError as exc:
        return DutyOutcome(False, str(exc), permanent=True)
    except Exception as exc:
        return DutyOutcome(False, f"{type(exc).__name__}: {exc}")
    finally:
        await forge.aclose()
