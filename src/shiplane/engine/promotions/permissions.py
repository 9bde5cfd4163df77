"""Who may do what to a promotion now, and if not, why not: the one copy of each rule.

The request functions (requests.py) run these checks and raise the refusal; the UI and
the API's `actions` field run the very same checks without acting, so a button is
disabled with the words the request would have answered with. The rules:

- role: each action needs a role (ACTION_ROLES); a token scoped to environments must
  cover the promotion's environment (the API's 403s, worded in domain/roles.py);
- approve / reject: gates/approval.py `check_approver` (approver groups and users,
  separation of duties, one approval per person, only a pending or waiting promotion);
- abort: a pending, waiting, deploying or verifying promotion;
- retry: a failed, aborted, rolled back or superseded one;
- resolve: a verifying promotion with a check that is inconclusive (waits for a person);
- rollback: an earlier release was verified in the environment for each of its apps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.domain.errors import ConflictError
from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.domain.roles import (
    Role,
    environment_role_refusal,
    role_allows,
    role_refusal,
    scope_refusal,
)
from shiplane.domain.sso_access import role_in
from shiplane.engine.promotions.model import Actor, PromotionData
from shiplane.gates import ReleaseInfo, check_approver
from shiplane.gates.approval import ApprovalRefusal
from shiplane.gates.checks import base as checks_base
from shiplane.gates.checks.runner import resolve_inconclusive
from shiplane.store import deploys, promotion_controls, releases, verifications
from shiplane.store import promotions as promotions_store
from shiplane.store.promotions import PromotionRecord

S = PromotionState

Action = Literal["approve", "reject", "abort", "retry", "resolve", "rollback"]
ACTIONS: tuple[Action, ...] = ("approve", "reject", "abort", "retry", "resolve", "rollback")
ACTION_ROLES: Mapping[Action, Role] = {
    "approve": Role.APPROVER,
    "reject": Role.APPROVER,
    "abort": Role.PROMOTER,
    "retry": Role.PROMOTER,
    "resolve": Role.APPROVER,
    "rollback": Role.PROMOTER,
}
"""The least role each action needs (the API's routes demand the same)."""

ABORTABLE = (S.PENDING, S.WAITING, S.DEPLOYING, S.VERIFYING)
RETRYABLE = (S.FAILED, S.ABORTED, S.ROLLED_BACK, S.SUPERSEDED)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: the actor (name, groups) with the role and environment scope of their
    token (an empty scope covers every environment)."""

    actor: Actor
    role: Role
    environments: tuple[str, ...] = ()
    # Single sign-on: the role in environments where it is lower than `role` (docs/sso.md).
    environment_roles: tuple[tuple[str, Role], ...] = ()

    def role_in(self, environment: str) -> Role:
        return role_in(self.role, self.environment_roles, environment)


@dataclass(frozen=True, slots=True)
class ActionCheck:
    """Whether an action is allowed now; `reason` says why not. `choices` names what
    the action would act on: for resolve the checks waiting for a person (with their
    reason), for rollback the release each app would go back to."""

    allowed: bool
    reason: str = ""
    choices: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "reason": self.reason, "choices": dict(self.choices)}


def release_info(s: Session, release_id: str) -> ReleaseInfo:
    """What gates know of a promotion's release."""
    release = releases.get_release(s, release_id)
    if release is None:
        raise ConflictError(f"release {release_id} disappeared")
    return release.info()


def approval_refusal(
    project: ProjectConfig,
    s: Session,
    p: Promotion,
    actor: Actor,
    now: datetime,
    decision: Literal["approve", "reject"] = "approve",
) -> ApprovalRefusal | None:
    """`check_approver` with what it needs read from the store. An environment that
    left shiplane.yaml has no approval policy any more (nothing to approve)."""
    env = project.environments.get(p.environment)
    record = promotions_store.get_promotion(s, p.id)
    held = (
        record is not None
        and record.state == PromotionState.DEPLOYING.value
        and (PromotionData.of(record).pull_request or {}).get("phase") == "held"
    )
    return check_approver(
        policy=env.approvals if env is not None else None,
        promotion=p,
        release=release_info(s, p.release_id),
        user=actor.name,
        groups=actor.groups,
        approvals=promotion_controls.approvals_for(s, p.release_id, p.environment),
        now=now,
        decision=decision,
        held=held and decision == "approve",
    )


def abort_refusal(p: Promotion) -> str | None:
    if p.state in ABORTABLE:
        return None
    return (
        f"promotion {p.id} is {p.state.value}; only a pending, waiting, deploying "
        "or verifying promotion can be aborted"
    )


def retry_refusal(p: Promotion) -> str | None:
    if p.state in RETRYABLE:
        return None
    return (
        f"promotion {p.id} is {p.state.value}; only a failed, aborted, rolled back "
        "or superseded promotion can be retried"
    )


def checks_awaiting_decision(record: PromotionRecord, by: str, now: datetime) -> dict[str, str]:
    """The verification checks of a verifying promotion that wait for a person, with
    the reason each is inconclusive (judged by `resolve_inconclusive` itself)."""
    if record.state != S.VERIFYING.value:
        return {}
    states = PromotionData.of(record).verify_state().get("checks") or {}
    waiting: dict[str, str] = {}
    for name, state in states.items():
        try:
            resolve_inconclusive(state, True, by or "?", at=now)
        except checks_base.CheckStateError:
            continue
        pending = state.get("pending") or {}
        waiting[name] = str(pending.get("reason") or "inconclusive")
    return waiting


def resolve_refusal(
    record: PromotionRecord, check: str | None, by: str, now: datetime
) -> str | None:
    """Why `by` cannot decide `check` (or any check, when None) of `record` now."""
    if check is None:
        waiting = checks_awaiting_decision(record, by, now)
        return None if waiting else f"promotion {record.id} has no check waiting for a person"
    states = PromotionData.of(record).verify_state().get("checks") or {}
    if record.state != S.VERIFYING.value or check not in states:
        return f"promotion {record.id} has no check {check!r} waiting for a person"
    try:
        resolve_inconclusive(states[check], True, by, at=now)
    except checks_base.CheckStateError as exc:
        return str(exc)
    return None


def rollback_target(s: Session, environment: str, app: str) -> str:
    """The release `app` goes back to in `environment`: the last one verified there
    other than what runs now; ConflictError when there is none."""
    current = deploys.running_in(s, environment).get(app)
    target = verifications.last_verified_release(s, environment, app, exclude=current)
    if target is None:
        raise ConflictError(
            f"no earlier release was verified in {environment} for {app}; "
            "name one with --to RELEASE"
        )
    return target


def _rollback_check(s: Session, record: PromotionRecord) -> ActionCheck:
    targets: dict[str, str] = {}
    for app in record.apps:
        try:
            targets[app] = rollback_target(s, record.environment, app)
        except ConflictError as exc:
            return ActionCheck(False, exc.message)
    return ActionCheck(True, choices=targets)


def _state_check(
    project: ProjectConfig,
    s: Session,
    record: PromotionRecord,
    action: Action,
    caller: Caller,
    now: datetime,
) -> ActionCheck:
    p = record.domain()
    if action in ("approve", "reject"):
        refusal = approval_refusal(project, s, p, caller.actor, now, decision=action)
        return ActionCheck(refusal is None, refusal.message if refusal else "")
    if action == "abort":
        reason = abort_refusal(p)
    elif action == "retry":
        reason = retry_refusal(p)
    elif action == "resolve":
        waiting = checks_awaiting_decision(record, caller.actor.name, now)
        reason = resolve_refusal(record, None, caller.actor.name, now)
        return ActionCheck(reason is None, reason or "", choices=waiting)
    else:
        return _rollback_check(s, record)
    return ActionCheck(reason is None, reason or "")


def action_check(
    project: ProjectConfig,
    s: Session,
    record: PromotionRecord,
    action: Action,
    caller: Caller,
    now: datetime,
) -> ActionCheck:
    """Whether `caller` may take `action` on `record` now: role first, then the token's
    environment scope, then the action's own rule."""
    name = caller.actor.name
    needed, env = ACTION_ROLES[action], record.environment
    refusal = role_refusal(name, caller.role, needed) or scope_refusal(
        name, caller.environments, [env]
    )
    if refusal is None and not role_allows(caller.role_in(env), needed):
        refusal = environment_role_refusal(name, caller.role_in(env), needed, env)
    if refusal is not None:
        return ActionCheck(False, refusal)
    return _state_check(project, s, record, action, caller, now)


def allowed_actions(
    project: ProjectConfig, s: Session, record: PromotionRecord, caller: Caller, now: datetime
) -> dict[Action, ActionCheck]:
    """Every action on `record` for `caller`, allowed or with the engine's reason."""
    return {a: action_check(project, s, record, a, caller, now) for a in ACTIONS}


__all__ = [
    "ABORTABLE",
    "ACTIONS",
    "ACTION_ROLES",
    "RETRYABLE",
    "Action",
    "ActionCheck",
    "Caller",
    "abort_refusal",
    "action_check",
    "allowed_actions",
    "approval_refusal",
    "checks_awaiting_decision",
    "release_info",
    "resolve_refusal",
    "retry_refusal",
    "rollback_target",
]
