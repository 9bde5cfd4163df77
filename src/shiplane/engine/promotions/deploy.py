"""State Deploying: commit the release's pins and sync the cluster to that commit.

The deployer is safe to call again after a crash (the commit is recognised by its
Shiplane-Promotion trailer, apply is server-side apply). Every write it makes checks the
promotion's lease (`fence`), so a replica that lost the promotion stops writing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shiplane.domain.promotion import PromotionEvent, PromotionState
from shiplane.engine.deploy import DeployError
from shiplane.engine.leases import Fence
from shiplane.engine.promotions.live_health import refresh_health
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.outcome import fail
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.transitions import get, transition
from shiplane.store import releases
from shiplane.store.promotions import PromotionRecord


async def handle(rt: Runtime, record: PromotionRecord, fence: Fence | None) -> PromotionRecord:
    release = await rt.read(lambda s: releases.get_release(s, record.release_id))
    assert release is not None  # releases are never deleted
    p = record.domain()
    try:
        outcome = await rt.deployer.deploy(
            release,
            p.environment,
            actor=p.requested_by,
            apps=list(p.apps),
            promotion_id=p.id,
            kind="rollback" if p.kind == "rollback" else "deploy",
            wait=False,
            fence=fence,
        )
    except DeployError as exc:
        commit = exc.outcome.git_commit if exc.outcome is not None else None
        why = f"deploy failed at {exc.step}: {exc.message}"
        failed = await rt.fenced(
            fence,
            lambda s: fail(
                rt,
                s,
                p.id,
                PromotionEvent.DEPLOY_FAILED,
                why,
                git_commit=commit,
                deployed=commit is not None,
            ),
            queues=[p.environment],
        )
        if commit is not None and failed.state == PromotionState.FAILED.value:
            # Something may have been applied and no rollback will verify the apps:
            # say what the live objects show, not the Progressing of the apply.
            rt.spawn(refresh_health(rt, failed.domain()), f"health after {p.id} failed")
        return failed
    commit = outcome.git_commit

    def deployed(s: Session) -> PromotionRecord:
        current = get(s, p.id)
        return transition(
            rt,
            s,
            current.domain(),
            PromotionEvent.DEPLOYED,
            f"deployed {commit[:12] if commit else ''}; verifying",
            git_commit=commit,
            data=PromotionData.of(current).but(verify={}),
        )

    return await rt.fenced(fence, deployed)
