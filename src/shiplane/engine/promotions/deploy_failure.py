"""A deploy that failed: the promotion fails (and rolls back by the environment's
policy when something may have been applied). Shared by the rolling path (deploy.py) and
the progressive one (strategy.py)."""

from __future__ import annotations

from shiplane.domain.promotion import Promotion, PromotionEvent, PromotionState
from shiplane.engine.deploy import DeployError
from shiplane.engine.leases import Fence
from shiplane.engine.promotions.live_health import refresh_health
from shiplane.engine.promotions.outcome import fail
from shiplane.engine.promotions.runtime import Runtime
from shiplane.store.promotions import PromotionRecord


async def deploy_failed(
    rt: Runtime, p: Promotion, exc: DeployError, fence: Fence | None, *, prefix: str = ""
) -> PromotionRecord:
    """Fail the promotion after a failed deploy (and roll back by the environment's
    policy when something may have been applied)."""
    commit = exc.outcome.git_commit if exc.outcome is not None else None
    why = f"{prefix}deploy failed at {exc.step}: {exc.message}"
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
