"""What a promotion would meet, before it is requested (the promote drawer, `promote
--dry-run`): nothing is created, recorded or committed.

The gates: the environment's gates are evaluated for a hypothetical promotion of the
release, requested now by the caller, exactly as the Waiting state evaluates them
(gates.gate_context, gates.evaluate_all), and told in the words of `promotion explain`.
Besides: whether the request itself would be refused (role, scope, a release that does
not fit: create.check_release_fits), which open promotions of the same apps it would
queue behind, and who may approve it (separation of duties: may the caller, as its
requester?). The manifest diff against live is engine/diffs.py `Diffs.release_vs_live`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from shiplane.domain.errors import NotFoundError, ShiplaneError
from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.domain.roles import Role, role_refusal, scope_refusal
from shiplane.engine.promotions.create import check_release_fits
from shiplane.engine.promotions.gates import gate_context
from shiplane.engine.promotions.runtime import Runtime
from shiplane.gates import GateResult, check_approver, evaluate_all, explain, gates_for, overall
from shiplane.gates.approval import approvers_text
from shiplane.store import promotions as store
from shiplane.store import releases
from shiplane.store.records import ReleaseRecord

PREVIEW_ID = "(preview)"
"""The id the hypothetical promotion carries in the explanation."""


@dataclass(frozen=True, slots=True)
class ApprovalPreview:
    """Who must approve, and whether the requester could be one of them."""

    required: int
    approvers: str
    requester_may_approve: bool
    reason: str  # why the requester may not approve ("" when they may)

    def to_json(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "approvers": self.approvers,
            "requester_may_approve": self.requester_may_approve,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class GatePreview:
    release: ReleaseRecord
    environment: str
    apps: tuple[str, ...]
    requested_by: str
    refusal: str | None  # the request itself would be refused (and nothing below applies)
    decision: str  # pass | wait | reject (what the gates say now)
    results: tuple[GateResult, ...]
    text: str  # the gates in the words of `promotion explain`
    queued_behind: tuple[str, ...] = ()
    approval: ApprovalPreview | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release.id,
            "alias": self.release.alias,
            "environment": self.environment,
            "apps": list(self.apps),
            "requested_by": self.requested_by,
            "refusal": self.refusal,
            "decision": self.decision,
            "gates": [r.to_record() for r in self.results],
            "text": self.text,
            "queued_behind": list(self.queued_behind),
            "approval": self.approval.to_json() if self.approval else None,
        }


def preview_gates(
    rt: Runtime,
    s: Session,
    release_ref: str,
    environment: str,
    *,
    requester: str,
    groups: tuple[str, ...] = (),
    role: Role = Role.ADMIN,
    scope: tuple[str, ...] = (),
) -> GatePreview:
    """The gates a promotion of `release_ref` into `environment`, requested now by
    `requester` (with `role` and token `scope`), would meet."""
    project = rt.project
    project.require_environment(environment)
    release = releases.get_release(s, release_ref)
    if release is None:
        raise NotFoundError(
            f"no release matches {release_ref!r} (by id, unique id prefix or alias)"
        )
    now = rt.now()
    apps = tuple(rt.ordered_apps(release.apps))
    refusal = role_refusal(requester, role, Role.PROMOTER) or scope_refusal(
        requester, scope, [environment]
    )
    if refusal is None:
        try:
            check_release_fits(rt, s, release, environment)
        except ShiplaneError as exc:
            refusal = exc.message
    p = Promotion(
        id=PREVIEW_ID,
        release_id=release.id,
        environment=environment,
        apps=apps,
        requested_by=requester,
        created_at=now,
        state=PromotionState.WAITING,
        updated_at=now,
    )
    results = tuple(evaluate_all(gate_context(rt, s, p), gates_for(project, environment)))
    # `explain` minus its headline (about a promotion that does not exist).
    text = "\n".join(explain(p, results, (), now=now).splitlines()[1:])
    text = text.replace(f"approve {PREVIEW_ID}", "approve PROMOTION")
    ahead = [
        q.id for q in store.open_promotions(s, environment=environment) if set(q.apps) & set(apps)
    ]
    policy = project.environments[environment].approvals
    approval = None
    if policy is not None:
        own = check_approver(
            policy=policy,
            promotion=p,
            release=release.info(),
            user=requester,
            groups=groups,
            approvals=(),
            now=now,
        )
        approval = ApprovalPreview(
            required=policy.required,
            approvers=approvers_text(policy),
            requester_may_approve=own is None,
            reason=own.message.replace(PREVIEW_ID, "this promotion") if own else "",
        )
    return GatePreview(
        release=release,
        environment=environment,
        apps=apps,
        requested_by=requester,
        refusal=refusal,
        decision=overall(results).value,
        results=results,
        text=text,
        queued_behind=tuple(ahead),
        approval=approval,
    )


__all__ = ["ApprovalPreview", "GatePreview", "preview_gates"]
