"""Pull-request mode, after the merge (engine/promotions/pull_request.py): judge the
forge's approving reviews when the environment asks for them (`approvals.fromForge`,
gates/forge_reviews.py), then sync the merge commit, or hand it to the environment's
progressive strategy (a canary takes its steps from the merge commit).

    merged, reviews enough (or not asked for)  -> phase merged: pending status, sync
    merged with too few approving reviews      -> phase held: NOT synced; the reason
                                                  says who is missing; every look asks
                                                  the forge again (a later review counts)

Holding is the safe answer to a merge the forge allowed with fewer approvals than the
environment requires: nothing reaches the cluster, the promotion keeps the environment's
slot (nothing else deploys over it), and people see why on the promotion and on the
merge commit's pending status. A person adds the missing approval (a review, where the
forge still takes one on a merged pull request, or `shiplane approve` by an eligible
person during the hold) or aborts the promotion (and reverts the merge commit, which
Shiplane never synced).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shiplane.domain.audit import as_utc
from shiplane.domain.promotion import Promotion, PromotionEvent, PromotionState, Step
from shiplane.domain.pull_request import PullRequestPhase
from shiplane.engine.deploy import DeployError
from shiplane.engine.forge_duties import enqueue_status
from shiplane.engine.leases import Fence
from shiplane.engine.promotions.deploy_failure import deploy_failed
from shiplane.engine.promotions.forge_outcome import promotion_link
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.pull_request_state import (
    driver,
    interval,
    pr_state,
    record_state,
)
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.strategy_start import begin_steps
from shiplane.engine.promotions.transitions import get, transition
from shiplane.gates.forge_reviews import forge_approvals_required, judge_forge_reviews
from shiplane.gates.results import GateResult, Outcome
from shiplane.store import audit, promotion_controls
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord

S = PromotionState


def _pending(rt: Runtime, s: Session, record: PromotionRecord, commit: str, text: str) -> None:
    enqueue_status(
        s,
        promotion_id=record.id,
        environment=record.environment,
        sha=commit,
        state="pending",
        text=text,
        url=promotion_link(rt, record.id),
        now=rt.now(),
    )


def merged_without_review(
    rt: Runtime, s: Session, promotion_id: str, commit: str, started: dict[str, Any]
) -> PromotionRecord:
    """The base branch holds the pins already: nothing to review; its head is synced."""
    state: dict[str, Any] = {"phase": PullRequestPhase.MERGED.value, "merge_commit": commit}
    if started:
        state["strategy"] = started
    saved = record_state(rt, s, promotion_id, state, "pins already in git")
    if saved.state == S.DEPLOYING.value:
        _pending(rt, s, saved, commit, "deploying; verification follows")
    return saved


async def judge_merge(
    rt: Runtime,
    record: PromotionRecord,
    release: ReleaseRecord,
    fence: Fence | None,
    number: int,
    commit: str,
) -> PromotionRecord:
    """The pull request is merged as `commit`: who approved it, and whether that is
    enough to sync (phase merged) or the promotion is held (phase held)."""
    p = record.domain()
    async with driver(rt) as forge:
        approved = sorted({r.user for r in await forge.approvals(number)})
    policy = rt.project.require_environment(p.environment).approvals
    was = pr_state(record)
    held_since = was.get("held_since")
    verdict: GateResult | None = None
    if policy is not None and forge_approvals_required(policy) and p.kind != "rollback":
        verdict = judge_forge_reviews(
            policy,
            number=number,
            requester=p.requested_by,
            creator=release.creator,
            reviewers=approved,
            held_approvers=await rt.read(lambda s: _approved_since(s, p, held_since)),
        )
    held = verdict is not None and verdict.outcome is not Outcome.PASS
    state = {**was, "merge_commit": commit, "approved_by": approved}
    if verdict is not None:
        state["approval"] = verdict.to_record()
    if held:
        assert verdict is not None
        state["phase"] = PullRequestPhase.HELD.value
        state.setdefault("held_since", rt.now().isoformat())
        why = f"held, not synced: {verdict.reason}; to go on: {verdict.unblock_hint}"
        first = was.get("phase") != PullRequestPhase.HELD.value

        def hold(s: Session) -> PromotionRecord:
            now = rt.now()
            saved = record_state(rt, s, p.id, state, why, next_check_at=now + interval(rt, p))
            if first and saved.state == S.DEPLOYING.value:
                store.add_step(s, p.id, Step("held", now, now, "failed", verdict.reason))
                _pending(rt, s, saved, commit, f"held: {verdict.reason}")
            return saved

        return await rt.fenced(fence, hold)
    state["phase"] = PullRequestPhase.MERGED.value
    by = f"; approved on the forge by {', '.join(approved)}" if approved else ""
    why = f"pull request #{number} merged as {commit[:12]}{by}; syncing"
    # The forge reviewers who counted (Shiplane approvals have their own audit event).
    counted = [u for u in (verdict.inputs.get("counted") or []) if u in approved] if verdict else []

    def write(s: Session) -> PromotionRecord:
        now = rt.now()
        saved = record_state(rt, s, p.id, state, why)
        if saved.state != S.DEPLOYING.value:
            return saved
        store.add_step(s, p.id, Step("merged", now, now, "succeeded", why))
        for user in counted:  # the reviewers' approvals, under their own names
            audit.append_event(
                s,
                actor=user,
                action="promotion.approve",
                subject=p.id,
                environment=p.environment,
                details={
                    "release": p.release_id,
                    "source": "forge",
                    "pull_request": number,
                    "commit": commit,
                },
            )
        _pending(rt, s, saved, commit, "deploying; verification follows")
        return saved

    return await rt.fenced(fence, write)


def _approved_since(s: Session, p: Promotion, since: str | None) -> list[str]:
    """Who approved promotion `p` in Shiplane during the hold (since `since`)."""
    if since is None:
        return []
    start = datetime.fromisoformat(since)
    return [
        a.user
        for a in promotion_controls.approvals_for(s, p.release_id, p.environment)
        if a.decision == "approve" and a.promotion_id == p.id and as_utc(a.at) >= start
    ]


async def sync_merged(
    rt: Runtime, record: PromotionRecord, release: ReleaseRecord, fence: Fence | None
) -> PromotionRecord:
    """Phase merged: a progressive strategy starts its steps at the merge commit (the
    caller hands the promotion to strategy.py); otherwise the merge commit is synced."""
    p = record.domain()
    state = pr_state(record)
    commit = str(state["merge_commit"])
    started = state.get("strategy")
    if started:
        return await rt.fenced(
            fence, lambda s: begin_steps(rt, s, p.id, commit, started, merged=True)
        )
    try:
        await rt.deploy_promotion(p, release, fence, merged=commit)
    except DeployError as exc:
        return await deploy_failed(rt, p, exc, fence)

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
