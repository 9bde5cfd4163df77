"""Gate `approval`: people must agree before a release enters the environment.

Policy (`approvals:` of the environment): `required` distinct approvals from members of
`groups` and/or the named `users` (anyone with the approver role when both are empty);
the requester of the promotion and the creator of the release may not approve unless
`allowRequester` / `allowCreator`; approvals expire after `expiry`. An approval binds to
(release id, environment) and never counts for another release or environment. A
rejection by an eligible approver rejects the promotion, with their reason.

`check_approver` is the same rule set seen from the API: it tells a person, before their
decision is recorded, why it would not count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shiplane.config.durations import format_duration
from shiplane.config.models import ApprovalPolicy, ProjectConfig
from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.domain.promotion_controls import Approval, ApprovalDecision
from shiplane.gates.context import GateContext, ReleaseInfo
from shiplane.gates.forge_reviews import shiplane_gate_replaced
from shiplane.gates.registry import Gate, register
from shiplane.gates.results import GateResult, Outcome

DECIDABLE_STATES = (PromotionState.PENDING, PromotionState.WAITING)


def may_approve_by_membership(policy: ApprovalPolicy, user: str, groups: Sequence[str]) -> bool:
    """Whether `user` (in `groups`) is one of the approvers the policy names."""
    if not policy.groups and not policy.users:
        return True  # the approver role (checked by the API) is enough
    return user in policy.users or bool(set(groups) & set(policy.groups))


def approvers_text(policy: ApprovalPolicy) -> str:
    """`group release-managers`, `groups a or b`, `users x or y`, `an approver`."""
    parts = []
    if policy.groups:
        word = "group" if len(policy.groups) == 1 else "groups"
        parts.append(f"{word} {' or '.join(policy.groups)}")
    if policy.users:
        word = "user" if len(policy.users) == 1 else "users"
        parts.append(f"{word} {' or '.join(policy.users)}")
    return " or ".join(parts) if parts else "an approver"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


@dataclass(frozen=True, slots=True)
class ApprovalReview:
    """One recorded approval and whether it counts here (and if not, why not)."""

    approval: Approval
    counts: bool
    why_not: str = ""
    expires_at: datetime | None = None


def review_approvals(
    policy: ApprovalPolicy,
    promotion: Promotion,
    release: ReleaseInfo,
    approvals: Sequence[Approval],
    now: datetime,
) -> list[ApprovalReview]:
    """Every 'approve' decision for this (release, environment), oldest first, judged."""
    ttl = timedelta(seconds=policy.expiry)
    reviews: list[ApprovalReview] = []
    counted_users: set[str] = set()
    bound = [
        a
        for a in approvals
        if a.decision == "approve"
        and a.release_id == release.id
        and a.environment == promotion.environment
    ]
    # Newest first, so a person's latest still-valid approval is the one that counts.
    for a in sorted(bound, key=lambda a: a.at, reverse=True):
        expires_at = a.at + ttl
        if expires_at <= now:
            why = f"expired at {expires_at:%Y-%m-%d %H:%M} UTC ({format_duration(policy.expiry)})"
        elif not may_approve_by_membership(policy, a.user, a.groups):
            why = f"{a.user} is not in {approvers_text(policy)}"
        elif a.user == promotion.requested_by and not policy.allow_requester:
            why = f"{a.user} requested the promotion"
        elif a.user == release.creator and not policy.allow_creator:
            why = f"{a.user} created the release"
        elif a.user in counted_users:
            why = f"{a.user} already approved"
        else:
            why = ""
        if not why:
            counted_users.add(a.user)
        reviews.append(ApprovalReview(a, counts=not why, why_not=why, expires_at=expires_at))
    return sorted(reviews, key=lambda r: r.approval.at)


def binding_rejections(
    policy: ApprovalPolicy, promotion: Promotion, approvals: Sequence[Approval]
) -> list[Approval]:
    """Rejections of this very promotion by people allowed to decide on it."""
    return [
        a
        for a in approvals
        if a.decision == "reject"
        and a.promotion_id == promotion.id
        and may_approve_by_membership(policy, a.user, a.groups)
    ]


class ApprovalGate(Gate[ApprovalPolicy]):
    """Required approvals from allowed people, with separation of duties and expiry."""

    name = "approval"
    schema = ApprovalPolicy

    def configure(self, project: ProjectConfig, environment: str) -> ApprovalPolicy | None:
        return project.environments[environment].approvals

    def evaluate(self, ctx: GateContext, config: ApprovalPolicy) -> GateResult:
        now = ctx.now()
        promotion, release = ctx.promotion, ctx.release
        if shiplane_gate_replaced(config) and promotion.kind != "rollback":
            # `fromForge: count`: the reviews of the pull request are the approvals; they
            # are judged when it is merged (gates/forge_reviews.py), never skipped.
            return GateResult(
                self.name,
                Outcome.PASS,
                f"approvals come from {_plural(config.required, 'approving review')} of the "
                "pull request on the forge (fromForge: count), checked at its merge",
                {"from_forge": config.from_forge, "required": config.required},
            )
        reviews = review_approvals(config, promotion, release, ctx.approvals, now)
        rejections = binding_rejections(config, promotion, ctx.approvals)
        counted = [r for r in reviews if r.counts]
        inputs = {
            "required": config.required,
            "approvers": approvers_text(config),
            "requester": promotion.requested_by,
            "creator": release.creator,
            "allow_requester": config.allow_requester,
            "allow_creator": config.allow_creator,
            "expiry": format_duration(config.expiry),
            "approvals": [
                {"user": r.approval.user, "at": r.approval.at, "counts": r.counts,
                 "why_not": r.why_not, "expires_at": r.expires_at}
                for r in reviews
            ],
            "rejections": [
                {"user": a.user, "at": a.at, "comment": a.comment} for a in rejections
            ],
        }  # fmt: skip
        if rejections:
            first = min(rejections, key=lambda a: a.at)
            because = f": {first.comment}" if first.comment else ""
            return GateResult(
                self.name,
                Outcome.REJECT,
                f"rejected by {first.user}{because}",
                inputs,
                unblock_hint="a rejection ends the promotion; promote again to ask anew",
            )
        if len(counted) >= config.required:
            who = ", ".join(r.approval.user for r in counted)
            return GateResult(
                self.name,
                Outcome.PASS,
                f"approved by {who} ({len(counted)} of {config.required} required)",
                inputs,
            )
        missing = config.required - len(counted)
        notes = self._notes(config, promotion, release, reviews)
        reason = f"waiting for {_plural(missing, 'more approval')} from {approvers_text(config)}"
        if counted:
            reason += f" (approved so far by {', '.join(r.approval.user for r in counted)})"
        if notes:
            reason += "; " + "; ".join(notes)
        # When an approval already counted expires, the answer gets worse: look again then.
        expiring = [r.expires_at for r in counted if r.expires_at is not None]
        return GateResult(
            self.name,
            Outcome.WAIT,
            reason,
            inputs,
            next_check_at=min(expiring) if expiring else None,
            unblock_hint=(
                f"someone from {approvers_text(config)} runs `shiplane approve {promotion.id}` "
                f"({_plural(missing, 'more approval')} needed)"
            ),
        )

    @staticmethod
    def _notes(
        policy: ApprovalPolicy,
        promotion: Promotion,
        release: ReleaseInfo,
        reviews: Sequence[ApprovalReview],
    ) -> list[str]:
        """Separation-of-duty and expiry remarks worth telling the reader."""
        notes: list[str] = []
        tried = {r.approval.user for r in reviews}
        requester = promotion.requested_by
        if not policy.allow_requester and (promotion.trigger == "manual" or requester in tried):
            notes.append(f"{requester} cannot approve their own request")
        creator = release.creator
        if not policy.allow_creator and creator != requester and creator in tried:
            notes.append(f"{creator} cannot approve a release they created")
        expired = sorted({r.approval.user for r in reviews if r.why_not.startswith("expired")})
        if expired:
            notes.append(f"expired: {', '.join(expired)}")
        return notes


APPROVAL = register(ApprovalGate())


RefusalCode = Literal[
    "no_approvals_needed", "not_waiting", "not_an_approver", "self_approval",
    "creator_approval", "already_approved",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class ApprovalRefusal:
    """Why a decision would not be recorded; `code` lets the API pick a status code."""

    code: RefusalCode
    message: str


def check_approver(
    *,
    policy: ApprovalPolicy | None,
    promotion: Promotion,
    release: ReleaseInfo,
    user: str,
    groups: Sequence[str],
    approvals: Sequence[Approval],
    now: datetime,
    decision: ApprovalDecision = "approve",
    held: bool = False,
) -> ApprovalRefusal | None:
    """None when `user` may record `decision` on `promotion` now, else the refusal.
    `held`: a pull-request promotion merged with too few forge reviews, which waits for
    the missing approvals (gates/forge_reviews.py) while Deploying."""
    if policy is None:
        return ApprovalRefusal(
            "no_approvals_needed",
            f"environment {promotion.environment} needs no approvals",
        )
    if shiplane_gate_replaced(policy) and not held and promotion.kind != "rollback":
        return ApprovalRefusal(
            "no_approvals_needed",
            f"approvals into {promotion.environment} come from approving reviews of the "
            "promotion's pull request on the forge (fromForge: count); a Shiplane approval "
            "counts only while a merge with too few is held",
        )
    if promotion.state not in DECIDABLE_STATES and not held:
        return ApprovalRefusal(
            "not_waiting",
            f"promotion {promotion.id} is {promotion.state.value}; only a pending or "
            "waiting promotion can be approved or rejected",
        )
    if not may_approve_by_membership(policy, user, groups):
        return ApprovalRefusal(
            "not_an_approver",
            f"{user} may not decide on promotions into {promotion.environment}: "
            f"approvals must come from {approvers_text(policy)}",
        )
    if decision == "reject":
        return None  # separation of duties is about agreeing, anyone eligible may stop it
    if user == promotion.requested_by and not policy.allow_requester:
        return ApprovalRefusal(
            "self_approval",
            f"{user} requested this promotion and cannot approve it "
            f"(environment {promotion.environment} does not set allowRequester)",
        )
    if user == release.creator and not policy.allow_creator:
        return ApprovalRefusal(
            "creator_approval",
            f"{user} created release {release.id} and cannot approve it "
            f"(environment {promotion.environment} does not set allowCreator)",
        )
    for review in review_approvals(policy, promotion, release, approvals, now):
        if review.counts and review.approval.user == user:
            return ApprovalRefusal(
                "already_approved",
                f"{user} already approved release {release.id} for {promotion.environment} "
                f"at {review.approval.at:%Y-%m-%d %H:%M} UTC; each person counts once",
            )
    return None
