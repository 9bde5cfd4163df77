"""The approvals inbox: promotions that wait for approvals the caller may give.

A promotion is in a person's inbox when it is pending or waiting in an environment that
needs approvals (or, in pull-request mode, held after a merge with too few approving
reviews: gates/forge_reviews.py), it does not have enough approvals yet, and the
person's approval would be accepted now: exactly `action_check(..., "approve", ...)` of
permissions.py (role, token scope, approver groups and users, separation of duties, one
approval per person).
Each item says how many approvals are missing and when the approvals given so far
expire (the environment's `approvals.expiry`): once one expires the count drops again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shiplane.config.durations import format_duration
from shiplane.config.models import ProjectConfig
from shiplane.domain.roles import role_allows
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.permissions import (
    ACTION_ROLES,
    Caller,
    action_check,
    release_info,
)
from shiplane.gates.approval import DECIDABLE_STATES, approvers_text, review_approvals
from shiplane.store import promotion_controls
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord

_DECIDABLE = tuple(s.value for s in DECIDABLE_STATES)


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One promotion waiting for the caller's approval."""

    promotion: PromotionRecord
    required: int
    approved_by: tuple[str, ...]  # approvals that count now, oldest first
    approvers: str  # who may approve, in words (`group release-managers`)
    expiry: str  # how long an approval stays valid (`24h`)
    expires_at: datetime | None  # when the first approval that counts expires
    waiting_since: datetime | None

    @property
    def missing(self) -> int:
        return max(self.required - len(self.approved_by), 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "promotion": self.promotion.model_dump(mode="json"),
            "required": self.required,
            "missing": self.missing,
            "approved_by": list(self.approved_by),
            "approvers": self.approvers,
            "expiry": self.expiry,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "waiting_since": self.waiting_since.isoformat() if self.waiting_since else None,
        }


def approvals_inbox(
    project: ProjectConfig, s: Session, caller: Caller, now: datetime
) -> list[InboxItem]:
    """What waits for `caller`'s approval, longest waiting first."""
    if not role_allows(caller.role, ACTION_ROLES["approve"]):
        return []  # quick answer; action_check below would refuse each one anyway
    items: list[InboxItem] = []
    for record in store.open_promotions(s):
        env = project.environments.get(record.environment)
        policy = env.approvals if env is not None else None
        held = _held_verdict(record)
        if policy is None or (record.state not in _DECIDABLE and held is None):
            continue
        if not action_check(project, s, record, "approve", caller, now).allowed:
            continue
        if held is not None:  # merged with too few forge reviews (pull_request_merge.py)
            items.append(
                InboxItem(
                    promotion=record,
                    required=policy.required,
                    approved_by=tuple(held.get("counted") or ()),
                    approvers=approvers_text(policy),
                    expiry=format_duration(policy.expiry),
                    expires_at=None,
                    waiting_since=PromotionData.of(record).waiting_since,
                )
            )
            continue
        p = record.domain()
        release = release_info(s, p.release_id)
        approvals = promotion_controls.approvals_for(s, p.release_id, p.environment)
        counted = [r for r in review_approvals(policy, p, release, approvals, now) if r.counts]
        if len(counted) >= policy.required:
            continue  # approved enough; it waits for something else
        expiring = [r.expires_at for r in counted if r.expires_at is not None]
        items.append(
            InboxItem(
                promotion=record,
                required=policy.required,
                approved_by=tuple(r.approval.user for r in counted),
                approvers=approvers_text(policy),
                expiry=format_duration(policy.expiry),
                expires_at=min(expiring) if expiring else None,
                waiting_since=PromotionData.of(record).waiting_since,
            )
        )
    return sorted(items, key=lambda i: (i.waiting_since or i.promotion.created_at, i.promotion.id))


def _held_verdict(record: PromotionRecord) -> dict[str, Any] | None:
    """The forge reviews' verdict (its inputs) of a pull-request promotion held after a
    merge with too few approving reviews; None when it is not held."""
    pr = PromotionData.of(record).pull_request or {}
    if record.state != "Deploying" or pr.get("phase") != "held":
        return None
    return dict((pr.get("approval") or {}).get("inputs") or {})


__all__ = ["InboxItem", "approvals_inbox"]
