"""State Deploying: commit the release's pins and sync the cluster to that commit.

An environment in pull-request mode takes the path of `pull_request.py` (a branch, a
pull request, the wait for its merge, then the sync of the merge commit), except its
rollbacks under `gitops.rollback: direct` (the default): they are pushed here at once,
and the audit and the reason say the push bypassed review. An app with a
progressive strategy (canary) takes the path of `strategy.py` instead:
commit, the strategy's steps, then the sync; `rolling` is this module's path.

The deployer is safe to call again after a crash (the commit is recognised by its
Shiplane-Promotion trailer, apply is server-side apply). Every write it makes checks the
promotion's lease (`fence`), so a replica that lost the promotion stops writing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shiplane.domain.promotion import PromotionEvent
from shiplane.engine.deploy import DeployError
from shiplane.engine.leases import Fence
from shiplane.engine.promotions import pull_request, strategy
from shiplane.engine.promotions.deploy_failure import deploy_failed
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.transitions import get, transition
from shiplane.store import audit, releases
from shiplane.store.promotions import PromotionRecord

BYPASS_NOTE = "rolled back by direct push, bypassing review"
"""Recorded on a rollback pushed directly into a pull-request environment."""


async def handle(rt: Runtime, record: PromotionRecord, fence: Fence | None) -> PromotionRecord:
    p = record.domain()
    if pull_request.in_pull_request_mode(rt, record) and not PromotionData.of(record).strategy:
        return await pull_request.handle(rt, record, fence)
    if strategy.is_progressive(rt.project, record):
        return await strategy.handle(rt, record, fence)
    release = await rt.read(lambda s: releases.get_release(s, record.release_id))
    assert release is not None  # releases are never deleted
    try:
        outcome = await rt.deploy_promotion(p, release, fence)
    except DeployError as exc:
        return await deploy_failed(rt, p, exc, fence)
    commit = outcome.git_commit
    env = rt.project.environments.get(p.environment)
    # A rollback in a pull-request environment with `gitops.rollback: direct`: the
    # emergency path, said out loud (docs/forges.md, "Rollbacks").
    bypassed = p.kind == "rollback" and env is not None and env.gitops.mode == "pull-request"
    note = f"; {BYPASS_NOTE}" if bypassed else ""

    def deployed(s: Session) -> PromotionRecord:
        current = get(s, p.id)
        if bypassed:
            audit.append_event(
                s,
                actor="shiplane",
                action="promotion.direct_push",
                subject=p.id,
                environment=p.environment,
                details={
                    "release": p.release_id,
                    "commit": commit,
                    "note": BYPASS_NOTE,
                    "policy": "gitops.rollback: direct",
                },
            )
        return transition(
            rt,
            s,
            current.domain(),
            PromotionEvent.DEPLOYED,
            f"deployed {commit[:12] if commit else ''}{note}; verifying",
            git_commit=commit,
            data=PromotionData.of(current).but(verify={}),
        )

    return await rt.fenced(fence, deployed)
