"""State Deploying in pull-request mode (`gitops.mode: pull-request`, docs/forges.md):
propose the pins on a branch, open a pull request, wait for its merge, then sync the
cluster to the merge commit (or let the environment's strategy take its steps from it)
and verify as always.

    propose  render + dry-run as always, then the pins go to branch `shiplane/<id>`
             (never to the base branch) and the forge opens (or finds) the pull request
             (pull_request_open.py)
    wait     a persisted wait: the promotion stays Deploying with a next-check time
             (`gitops.pollInterval`; a forge webhook makes it due at once); each look
             asks the forge: merged -> judged (pull_request_merge.py), closed ->
             Aborted, open on a base that moved -> the branch is made again on the new
             head (force-pushed)
    judge    merged: with `approvals.fromForge`, the approving reviews must be enough,
             else the promotion is held, not synced (pull_request_merge.py)
    sync     the deployer syncs the merge commit (apply, prune), or a progressive
             strategy (canary, blue-green) starts its steps at it (strategy.py)

`data.pull_request` holds the wait: `phase` (open, merged, held, closed), `branch`,
`number`, `url`, `base` (the base head the branch was made on), `sha` (the branch's
commit), `merge_commit`, `approved_by` (who approved it on the forge), `approval` (the
forge reviews' verdict, when asked for) and `strategy` (the progressive apps' start).
Every step is safe to repeat after a kill -9: the branch is found again,
`open_pull_request` finds the open pull request of the branch instead of opening a
second one, and the merge commit is only read. What the forge is told afterwards (commit
statuses, closing the pull request of an aborted promotion) is written with the state
change it reports and done by the notification worker (engine/forge_duties.py).

Rollback promotions push directly unless the environment says `gitops.rollback:
pull-request` (deploy.py records the direct push as bypassing review).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shiplane.domain.promotion import PromotionEvent, PromotionState
from shiplane.domain.pull_request import PullRequestPhase, WaitStep, next_wait_step
from shiplane.engine.faults import fault_point
from shiplane.engine.forge_duties import STATUS_CONTEXT
from shiplane.engine.leases import Fence
from shiplane.engine.promotions import strategy
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.pull_request_merge import judge_merge, sync_merged
from shiplane.engine.promotions.pull_request_open import propose, rebase
from shiplane.engine.promotions.pull_request_state import driver, later, phase, pr_state
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.transitions import get, transition
from shiplane.forge import (
    ForgeAuthError,
    ForgeError,
    ForgeNotFoundError,
    ForgeRejectedError,
    PullRequest,
)
from shiplane.store import releases
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord

__all__ = ["STATUS_CONTEXT", "handle", "in_pull_request_mode", "waiting_for_merge"]

S = PromotionState


def in_pull_request_mode(rt: Runtime, record: PromotionRecord) -> bool:
    """Whether a Deploying promotion takes this path: it started on it, or its
    environment says `gitops.mode: pull-request` now (a rollback only with
    `gitops.rollback: pull-request`)."""
    if PromotionData.of(record).pull_request:
        return True
    env = rt.project.environments.get(record.environment)
    if env is None or env.gitops.mode != "pull-request":
        return False
    return record.kind != "rollback" or env.gitops.rollback == "pull-request"


def waiting_for_merge(record: PromotionRecord) -> int | None:
    """The number of the pull request a Deploying promotion waits for (open, or merged
    and held for approvals), if it does."""
    if record.state != S.DEPLOYING.value:
        return None
    pr = PromotionData.of(record).pull_request or {}
    waiting = (PullRequestPhase.OPEN, PullRequestPhase.HELD)
    return int(pr["number"]) if pr.get("phase") in waiting and pr.get("number") else None


async def handle(rt: Runtime, record: PromotionRecord, fence: Fence | None) -> PromotionRecord:
    release = await rt.read(lambda s: releases.get_release(s, record.release_id))
    assert release is not None  # releases are never deleted
    try:
        if not PromotionData.of(record).pull_request:
            record = await propose(rt, record, release, fence)
        if phase(record) == PullRequestPhase.OPEN:
            record = await _look(rt, record, release, fence)
        elif phase(record) == PullRequestPhase.HELD:
            state = pr_state(record)
            record = await judge_merge(
                rt, record, release, fence, int(state["number"]), str(state["merge_commit"])
            )
    except ForgeError as exc:
        # The forge is down or slow: look again later, saying so.
        return await later(rt, record, fence, f"the forge did not answer: {exc}")
    except (ForgeAuthError, ForgeNotFoundError, ForgeRejectedError) as exc:
        # A token without the scopes, a repository that moved: a person must fix the
        # set-up; the promotion says what and looks again (a fixed token is read anew).
        return await later(rt, record, fence, f"the forge refused: {exc}")
    if phase(record) == PullRequestPhase.MERGED and not PromotionData.of(record).strategy:
        record = await sync_merged(rt, record, release, fence)
    if record.state == S.DEPLOYING.value and PromotionData.of(record).strategy:
        # A progressive strategy takes its steps from the merge commit (strategy.py).
        record = await strategy.handle(rt, record, fence)
    return record


async def _look(
    rt: Runtime, record: PromotionRecord, release: ReleaseRecord, fence: Fence | None
) -> PromotionRecord:
    p = record.domain()
    state = pr_state(record)
    async with driver(rt) as forge:
        pr = await forge.pull_request(int(state["number"]))
    base_moved = False
    if pr.state.value == "open":
        base_moved = await rt.deployer.base_head() != state.get("base")
    step = next_wait_step(pr.state.value, base_moved=base_moved)
    if step is WaitStep.SYNC:
        # A forge that does not say the merge commit: the merge landed on the base head.
        commit = pr.merge_commit or await rt.deployer.base_head()
        return await judge_merge(rt, record, release, fence, pr.number, commit)
    if step is WaitStep.ABORT:
        return await rt.fenced(
            fence, lambda s: _closed(rt, s, p.id, pr), queues=rt.queues_touched(p.environment)
        )
    if step is WaitStep.REBASE:
        return await rebase(rt, record, release, fence, pr)
    fault_point("pull_request.waiting")
    return await later(
        rt, record, fence, f"waiting for the merge of pull request #{pr.number} ({pr.url})"
    )


def _closed(rt: Runtime, s: Session, promotion_id: str, pr: PullRequest) -> PromotionRecord:
    current = get(s, promotion_id)
    if current.state != S.DEPLOYING.value:
        return current
    data = PromotionData.of(current)
    closed = {**(data.pull_request or {}), "phase": PullRequestPhase.CLOSED.value}
    return transition(
        rt,
        s,
        current.domain(),
        PromotionEvent.ABORTED,
        f"pull request #{pr.number} was closed without merge ({pr.url})",
        data=data.but(pull_request=closed),
    )
