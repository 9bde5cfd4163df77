"""What people do to promotions, kept apart from them: approvals (per release and
environment), holds (an app pinned in an environment) and freezes (an environment, or the
whole project under `PROJECT_FREEZE_KEY`)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shiplane.domain.promotion_controls import Approval, Freeze, Hold
from shiplane.store.models import ApprovalRow, FreezeRow, HoldRow

PROJECT_FREEZE_KEY = "*"


# --- approvals ------------------------------------------------------------------------------


def record_approval(s: Session, approval: Approval) -> None:
    s.add(
        ApprovalRow(
            promotion_id=approval.promotion_id,
            release_id=approval.release_id,
            environment=approval.environment,
            user=approval.user,
            groups=list(approval.groups),
            decision=approval.decision,
            comment=approval.comment,
            at=approval.at,
        )
    )
    s.flush()


def approvals_for(s: Session, release_id: str, environment: str) -> list[Approval]:
    query = (
        select(ApprovalRow)
        .where(ApprovalRow.release_id == release_id, ApprovalRow.environment == environment)
        .order_by(ApprovalRow.id)
    )
    return [
        Approval(
            user=r.user,
            groups=tuple(r.groups),
            at=r.at,
            decision="reject" if r.decision == "reject" else "approve",
            release_id=r.release_id,
            environment=r.environment,
            promotion_id=r.promotion_id,
            comment=r.comment,
        )
        for r in s.scalars(query)
    ]


# --- holds and freezes ----------------------------------------------------------------------


def set_hold(s: Session, hold: Hold) -> bool:
    """True when the hold is new."""
    row = s.get(HoldRow, (hold.environment, hold.app))
    if row is not None:
        return False
    s.add(
        HoldRow(
            environment=hold.environment,
            app=hold.app,
            set_by=hold.set_by,
            set_at=hold.set_at,
            reason=hold.reason,
        )
    )
    s.flush()
    return True


def remove_hold(s: Session, environment: str, app: str) -> bool:
    result = s.execute(
        delete(HoldRow).where(HoldRow.environment == environment, HoldRow.app == app)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_holds(s: Session, environment: str | None = None) -> list[Hold]:
    query = select(HoldRow).order_by(HoldRow.environment, HoldRow.app)
    if environment is not None:
        query = query.where(HoldRow.environment == environment)
    return [Hold(r.environment, r.app, r.set_by, r.set_at, r.reason) for r in s.scalars(query)]


def set_freeze(s: Session, freeze: Freeze) -> bool:
    key = freeze.environment or PROJECT_FREEZE_KEY
    row = s.get(FreezeRow, key)
    if row is not None:
        return False
    s.add(
        FreezeRow(scope_key=key, reason=freeze.reason, set_by=freeze.set_by, set_at=freeze.set_at)
    )
    s.flush()
    return True


def remove_freeze(s: Session, environment: str | None) -> bool:
    key = environment or PROJECT_FREEZE_KEY
    result = s.execute(delete(FreezeRow).where(FreezeRow.scope_key == key))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_freezes(s: Session) -> list[Freeze]:
    freezes = []
    for r in s.scalars(select(FreezeRow).order_by(FreezeRow.scope_key)):
        if r.scope_key == PROJECT_FREEZE_KEY:
            freezes.append(Freeze("project", None, r.reason, r.set_by, r.set_at))
        else:
            freezes.append(Freeze("environment", r.scope_key, r.reason, r.set_by, r.set_at))
    return freezes
