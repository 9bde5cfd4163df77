"""State Deploying in pull-request mode (`gitops.mode: pull-request`, docs/forges.md):
propose the pins on a branch, open a pull request, wait for its merge, then sync the
cluster to the merge commit and verify as always.

    propose  render + dry-run as always, then the pins go to branch `shiplane/<id>`
             (never to the base branch) and the forge opens (or finds) the pull request
    wait     a persisted wait: the promotion stays Deploying with a next-check time
             (`gitops.pollInterval`; a forge webhook makes it due at once); each look
             asks the forge: merged -> sync, closed -> Aborted, open on a base that
             moved -> the branch is made again on the new head (force-pushed)
    sync     the deployer syncs the merge commit (apply, prune); a pending commit status
             goes on it, and verification reports success or failure there (verify.py)

`data.pull_request` holds the wait: `phase` (open, merged), `branch`, `number`, `url`,
`base` (the base head the branch was made on), `sha` (the branch's commit),
`merge_commit` and `approved_by` (who approved it on the forge, for the record).
Every step is safe to repeat after a kill -9: the branch is found again,
`open_pull_request` finds the open pull request of the branch instead of opening a
second one, and the merge commit is only read.

Rollback promotions keep pushing directly (a rollback must not wait for a review).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from shiplane.domain.promotion import Promotion, PromotionEvent, PromotionState, Step
from shiplane.domain.pull_request import (
    ArtifactChange,
    PullRequestPhase,
    WaitStep,
    branch_name,
    describe_pull_request,
    next_wait_step,
)
from shiplane.engine.deploy import DeployError
from shiplane.engine.faults import fault_point
from shiplane.engine.leases import Fence
from shiplane.engine.promotions.deploy_failure import deploy_failed
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.transitions import get, save, transition
from shiplane.forge import (
    CommitState,
    CommitStatus,
    ForgeAuthError,
    ForgeDriver,
    ForgeError,
    ForgeNotFoundError,
    ForgeRejectedError,
    PullRequest,
)
from shiplane.store import matrix, releases
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord

log = structlog.get_logger(__name__)
S = PromotionState
STATUS_CONTEXT = "shiplane/verification"
"""The commit status context verification reports under on the merge commit."""


def in_pull_request_mode(rt: Runtime, record: PromotionRecord) -> bool:
    """Whether a Deploying promotion takes this path: it started on it, or its
    environment says `gitops.mode: pull-request` now (rollbacks never do)."""
    if PromotionData.of(record).pull_request:
        return True
    env = rt.project.environments.get(record.environment)
    return env is not None and env.gitops.mode == "pull-request" and record.kind != "rollback"


def waiting_for_merge(record: PromotionRecord) -> int | None:
    """The number of the pull request a Deploying promotion waits for, if it does."""
    if record.state != S.DEPLOYING.value:
        return None
    pr = PromotionData.of(record).pull_request or {}
    return int(pr["number"]) if pr.get("phase") == PullRequestPhase.OPEN else None


@contextlib.asynccontextmanager
async def driver(rt: Runtime) -> AsyncIterator[ForgeDriver]:
    forge = rt.forge(rt.project)
    try:
        yield forge
    finally:
        await forge.aclose()


async def handle(rt: Runtime, record: PromotionRecord, fence: Fence | None) -> PromotionRecord:
    release = await rt.read(lambda s: releases.get_release(s, record.release_id))
    assert release is not None  # releases are never deleted
    try:
        if not PromotionData.of(record).pull_request:
            record = await _propose(rt, record, release, fence)
        if _phase(record) == PullRequestPhase.OPEN:
            record = await _look(rt, record, release, fence)
    except ForgeError as exc:
        # The forge is down or slow: look again later, saying so.
        return await _later(rt, record, fence, f"the forge did not answer: {exc}")
    except (ForgeAuthError, ForgeNotFoundError, ForgeRejectedError) as exc:
        # A token without the scopes, a repository that moved: a person must fix the
        # set-up; the promotion says what and looks again (a fixed token is read anew).
        return await _later(rt, record, fence, f"the forge refused: {exc}")
    if _phase(record) == PullRequestPhase.MERGED:
        record = await _sync(rt, record, release, fence)
    return record


def _phase(record: PromotionRecord) -> str | None:
    if record.state != S.DEPLOYING.value:
        return None
    return (PromotionData.of(record).pull_request or {}).get("phase")


def _pr(record: PromotionRecord) -> dict[str, Any]:
    return dict(PromotionData.of(record).pull_request or {})


# --- propose ----------------------------------------------------------------------------


async def _push_branch(
    rt: Runtime, p: Promotion, release: ReleaseRecord, fence: Fence | None
) -> Any:
    """Render, dry-run and push the pins to the promotion's branch (DeployError)."""
    return await rt.deployer.deploy(
        release,
        p.environment,
        actor=p.requested_by,
        apps=list(p.apps),
        promotion_id=p.id,
        kind="deploy",
        wait=False,
        fence=fence,
        propose=branch_name(p.id),
    )


async def _propose(
    rt: Runtime, record: PromotionRecord, release: ReleaseRecord, fence: Fence | None
) -> PromotionRecord:
    p = record.domain()
    try:
        outcome = await _push_branch(rt, p, release, fence)
    except DeployError as exc:
        return await deploy_failed(rt, p, exc, fence)
    proposal = getattr(outcome, "proposal", None)
    if proposal is None:
        # The base branch holds these pins already: nothing to review; sync its head.
        state = {"phase": PullRequestPhase.MERGED.value, "merge_commit": outcome.git_commit}
        return await rt.fenced(fence, lambda s: _record(rt, s, p.id, state, "pins already in git"))
    manifests = dict(getattr(outcome, "manifests", None) or {})
    text = await rt.read(lambda s: _describe(rt, s, p, release, manifests))
    async with driver(rt) as forge:
        pr = await forge.open_pull_request(proposal.branch, proposal.target, text.title, text.body)
    fault_point("pull_request.opened")
    state = {
        "phase": PullRequestPhase.OPEN.value,
        "branch": proposal.branch,
        "number": pr.number,
        "url": pr.url,
        "base": proposal.base,
        "sha": proposal.sha,
    }
    reason = f"waiting for the merge of pull request #{pr.number} ({pr.url})"

    def write(s: Session) -> PromotionRecord:
        now = rt.now()
        store.add_step(
            s, p.id, Step("pull request", now, now, "succeeded", f"#{pr.number} {pr.url}")
        )
        return _record(rt, s, p.id, state, reason, next_check_at=now + _interval(rt, p))

    return await rt.fenced(fence, write)


def _describe(
    rt: Runtime, s: Session, p: Promotion, release: ReleaseRecord, manifests: dict[str, str]
) -> Any:
    """The pull request's title and body (domain/pull_request.py), from the store."""
    cells = matrix.get_matrix(s, apps=list(p.apps), environments=[p.environment])
    running: dict[str, str | None] = {}
    running_releases: list[str] = []
    for cell in cells:
        old = releases.get_release(s, cell.release_id) if cell.release_id else None
        if old is not None:
            running_releases.append(old.alias or old.id)
        refs = {a.app: a.ref for a in old.artifacts} if old is not None else {}
        running[cell.app] = refs.get(cell.app)
    proposed = {a.app: a.ref for a in release.artifacts}
    current = get(s, p.id)
    link = f"{rt.public_url.rstrip('/')}/ui/promotions/{p.id}" if rt.public_url else None
    return describe_pull_request(
        promotion_id=p.id,
        environment=p.environment,
        release_id=release.id,
        release_alias=release.alias,
        requested_by=p.requested_by,
        changes=[
            ArtifactChange(app, running.get(app), proposed[app])
            for app in p.apps
            if app in proposed
        ],
        gates=PromotionData.of(current).gates or [],
        running_releases=sorted(set(running_releases)),
        link=link,
        manifests=manifests,
    )


# --- the wait ---------------------------------------------------------------------------


async def _look(
    rt: Runtime, record: PromotionRecord, release: ReleaseRecord, fence: Fence | None
) -> PromotionRecord:
    p = record.domain()
    state = _pr(record)
    async with driver(rt) as forge:
        pr = await forge.pull_request(int(state["number"]))
    base_moved = False
    if pr.state.value == "open":
        base_moved = await rt.deployer.base_head() != state.get("base")
    step = next_wait_step(pr.state.value, base_moved=base_moved)
    if step is WaitStep.SYNC:
        # A forge that does not say the merge commit: the merge landed on the base head.
        commit = pr.merge_commit or await rt.deployer.base_head()
        async with driver(rt) as forge:
            # Who approved it on the forge, for the record (audit, explain).
            approved = sorted({r.user for r in await forge.approvals(pr.number)})
        merged = {
            **state,
            "phase": PullRequestPhase.MERGED.value,
            "merge_commit": commit,
            "approved_by": approved,
        }
        by = f"; approved on the forge by {', '.join(approved)}" if approved else ""
        why = f"pull request #{pr.number} merged as {commit[:12]}{by}; syncing"

        def write(s: Session) -> PromotionRecord:
            now = rt.now()
            store.add_step(s, p.id, Step("merged", now, now, "succeeded", why))
            return _record(rt, s, p.id, merged, why)

        return await rt.fenced(fence, write)
    if step is WaitStep.ABORT:
        return await rt.fenced(
            fence, lambda s: _closed(rt, s, p.id, pr), queues=rt.queues_touched(p.environment)
        )
    if step is WaitStep.REBASE:
        return await _rebase(rt, record, release, fence, pr)
    fault_point("pull_request.waiting")
    return await _later(
        rt, record, fence, f"waiting for the merge of pull request #{pr.number} ({pr.url})"
    )


def _closed(rt: Runtime, s: Session, promotion_id: str, pr: PullRequest) -> PromotionRecord:
    current = get(s, promotion_id)
    if current.state != S.DEPLOYING.value:
        return current
    return transition(
        rt,
        s,
        current.domain(),
        PromotionEvent.ABORTED,
        f"pull request #{pr.number} was closed without merge ({pr.url})",
    )


async def _rebase(
    rt: Runtime,
    record: PromotionRecord,
    release: ReleaseRecord,
    fence: Fence | None,
    pr: PullRequest,
) -> PromotionRecord:
    """The base moved under the open pull request: the pins again on the new head."""
    p = record.domain()
    try:
        outcome = await _push_branch(rt, p, release, fence)
    except DeployError as exc:
        return await deploy_failed(rt, p, exc, fence, prefix=f"rebasing #{pr.number}: ")
    proposal = getattr(outcome, "proposal", None)
    state = _pr(record)
    if proposal is None:  # someone put the same pins on the base: the PR has nothing left
        return await _later(
            rt, record, fence, f"the base holds these pins; waiting for #{pr.number}"
        )
    state.update(base=proposal.base, sha=proposal.sha)
    why = (
        f"base moved: {proposal.branch} made again on {proposal.base[:12]}; "
        f"waiting for #{pr.number}"
    )

    def write(s: Session) -> PromotionRecord:
        now = rt.now()
        store.add_step(s, p.id, Step("rebase", now, now, "succeeded", why))
        return _record(rt, s, p.id, state, why, next_check_at=now + _interval(rt, p))

    return await rt.fenced(fence, write)


async def _later(
    rt: Runtime, record: PromotionRecord, fence: Fence | None, reason: str
) -> PromotionRecord:
    p = record.domain()

    def write(s: Session) -> PromotionRecord:
        current = get(s, p.id)
        if current.state != S.DEPLOYING.value:
            return current
        return save(
            rt, s, current.domain(), reason=reason, next_check_at=rt.now() + _interval(rt, p)
        )

    return await rt.fenced(fence, write)


def _interval(rt: Runtime, p: Promotion) -> timedelta:
    env = rt.project.environments.get(p.environment)
    return timedelta(seconds=env.gitops.poll_interval if env is not None else 30)


def _record(
    rt: Runtime,
    s: Session,
    promotion_id: str,
    state: dict[str, Any],
    reason: str,
    *,
    next_check_at: Any = None,
) -> PromotionRecord:
    current = get(s, promotion_id)
    if current.state != S.DEPLOYING.value:
        return current  # aborted meanwhile
    data = PromotionData.of(current).but(pull_request=state)
    return save(rt, s, current.domain(), reason=reason, data=data, next_check_at=next_check_at)


# --- after the merge --------------------------------------------------------------------


async def _sync(
    rt: Runtime, record: PromotionRecord, release: ReleaseRecord, fence: Fence | None
) -> PromotionRecord:
    p = record.domain()
    state = _pr(record)
    commit = str(state["merge_commit"])
    await report(rt, record, "pending", "deploying; verification follows")
    try:
        await rt.deployer.deploy(
            release,
            p.environment,
            actor=p.requested_by,
            apps=list(p.apps),
            promotion_id=p.id,
            kind="deploy",
            wait=False,
            fence=fence,
            merged=commit,
        )
    except DeployError as exc:
        failed = await deploy_failed(rt, p, exc, fence)
        await report(rt, failed, "failure", f"deploy failed at {exc.step}")
        return failed

    def deployed(s: Session) -> PromotionRecord:
        current = get(s, p.id)
        return transition(
            rt,
            s,
            current.domain(),
            PromotionEvent.DEPLOYED,
            f"deployed merge commit {commit[:12]}; verifying",
            git_commit=commit,
            data=PromotionData.of(current).but(verify={}),
        )

    return await rt.fenced(fence, deployed)


_REPORTED: dict[str, CommitState] = {
    S.SUCCEEDED.value: "success",
    S.FAILED.value: "failure",
    S.ROLLING_BACK.value: "failure",
    S.ABORTED.value: "failure",
}


def status_for(record: PromotionRecord) -> CommitState | None:
    """The commit status a finished promotion reports on its merge commit (None: none)."""
    return _REPORTED.get(record.state)


async def report(rt: Runtime, record: PromotionRecord, state: CommitState, text: str) -> None:
    """Set the verification status on the merge commit of a pull-request promotion (no
    merge commit: nothing). Best effort: a forge that fails is logged, never fatal."""
    commit = (PromotionData.of(record).pull_request or {}).get("merge_commit")
    if not commit or rt.project.forge is None:
        return
    url = f"{rt.public_url.rstrip('/')}/ui/promotions/{record.id}" if rt.public_url else None
    status = CommitStatus(state, STATUS_CONTEXT, f"{record.environment}: {text}"[:140], url)
    try:
        async with driver(rt) as forge:
            await forge.set_status(str(commit), status)
    except Exception as exc:  # a status is a courtesy: the promotion goes on
        log.warning("pull_request.status_failed", promotion=record.id, error=str(exc))


async def close_after_abort(rt: Runtime, record: PromotionRecord) -> None:
    """A promotion aborted in Shiplane while it waited for its merge: its pull request is
    closed too, so nobody merges a change Shiplane no longer follows. Best effort: a
    forge that fails is logged (close the pull request by hand then)."""
    state = PromotionData.of(record).pull_request or {}
    if record.state != S.ABORTED.value or state.get("phase") != PullRequestPhase.OPEN:
        return
    if rt.project.forge is None:
        return
    try:
        async with driver(rt) as forge:
            await forge.close_pull_request(int(state["number"]))
    except Exception as exc:
        log.warning("pull_request.close_failed", promotion=record.id, error=str(exc))
