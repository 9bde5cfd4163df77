"""The forge duties a pull-request promotion's transition writes with it (engine/
forge_duties.py): the outcome as a commit status on the merge commit, and the pull
request closed when the promotion was aborted while it was open. Called by
`transitions.transition`, the one write path of a state change, so no way of ending a
promotion (verification, a failed deploy, an abort request, a failed canary) forgets
the forge, and a kill -9 right after the transition leaves the duty pending, not lost."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shiplane.domain.pull_request import duties_after
from shiplane.engine.forge_duties import enqueue_close, enqueue_status
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.runtime import Runtime
from shiplane.store.promotions import PromotionRecord


def promotion_link(rt: Runtime, promotion_id: str) -> str | None:
    """The promotion's page on this server, when its public URL is known."""
    return f"{rt.public_url.rstrip('/')}/ui/promotions/{promotion_id}" if rt.public_url else None


def record_forge_duties(rt: Runtime, s: Session, before: str, record: PromotionRecord) -> None:
    """Queue what the forge must be told now that `record` left state `before`."""
    pr = PromotionData.of(record).pull_request
    if not pr or rt.project.forge is None:
        return
    duties = duties_after(before, record.state, pr)
    if duties.status is not None:
        enqueue_status(
            s,
            promotion_id=record.id,
            environment=record.environment,
            sha=str(pr["merge_commit"]),
            state="success" if duties.status == "success" else "failure",
            text=record.reason,
            url=promotion_link(rt, record.id),
            now=rt.now(),
        )
    if duties.close is not None:
        enqueue_close(
            s, promotion_id=record.id, number=duties.close, url=pr.get("url"), now=rt.now()
        )
