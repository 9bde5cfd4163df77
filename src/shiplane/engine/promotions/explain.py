"""`shiplane promotion explain`: why a promotion waits or failed, in plain words."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from shiplane.domain.promotion import PromotionState
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.transitions import get
from shiplane.gates import GateResult, explain
from shiplane.store import promotion_controls
from shiplane.store import promotions as store


def explain_promotion(s: Session, promotion_id: str, *, now: datetime | None = None) -> str:
    """The text of `explain`; `now` (the runtime's clock) makes timed waits count down."""
    record = get(s, promotion_id)
    data = PromotionData.of(record)
    results = [GateResult.from_record(r) for r in data.gates or []]
    steps = [st.domain() for st in store.list_steps(s, promotion_id)]
    holds = promotion_controls.list_holds(s, record.environment)
    text = explain(record.domain(), results, steps, now=now, holds=holds)
    if data.strategy and data.strategy.get("summary"):
        phase = data.strategy.get("phase")
        text += f"\nstrategy ({phase}): {data.strategy['summary']}"
    if record.state == PromotionState.VERIFYING.value and data.verify_reason:
        text += f"\nverification: {data.verify_reason}"
    return text
