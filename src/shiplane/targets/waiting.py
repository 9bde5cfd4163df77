"""Waiting for a hand-off target: ask it to reconcile, then look until it is ready at the
commit, gave up on it, or the deadline passed. The same for every target, so a plugin
only knows how to ask and how to look."""

from __future__ import annotations

from shiplane.kube.polling import poll
from shiplane.targets.base import DeployTarget, TargetContext, TargetResult, TargetStatus


def failure_text(status: TargetStatus) -> str:
    """The agent's own words: `Kustomization flux-system/shop: BuildFailed: <message>`."""
    owner = f"{status.owner}: " if status.owner is not None else ""
    reason = f"{status.reason}: " if status.reason else ""
    return f"{owner}{reason}{status.message or 'failed'}"


async def wait_ready(
    target: DeployTarget, ctx: TargetContext, app: str, commit: str, *, request: bool = True
) -> TargetResult:
    """Ask (`request`) and wait until `app` is ready at `commit` (ok), failed (the
    agent's message) or not ready within `ctx.timeout` (the last status, and why the
    source has no artifact when that is the cause)."""
    if request:
        await target.request(ctx, app, commit)
    last: list[TargetStatus] = []

    async def look() -> TargetStatus | None:
        status = await target.observe(ctx, app, commit)
        last[:] = [status]
        return status if status.phase != "progressing" else None

    final = await poll(
        look, seconds=ctx.timeout, interval=min(0.2, ctx.interval), max_interval=ctx.interval
    )
    if final is not None:
        if final.phase == "ready":
            return TargetResult(final)
        return TargetResult(final, error=failure_text(final))
    status = last[0]
    why = status.summary
    explain = getattr(target, "source_problem", None)
    if explain is not None and (problem := await explain(ctx, app)):
        why = f"{why}; source: {problem}"
    owner = f"{status.owner} " if status.owner is not None else ""
    error = f"{owner}not Ready at {commit[:12]} after {ctx.timeout:.0f}s: {why}"
    return TargetResult(status, error=error, timed_out=True)
