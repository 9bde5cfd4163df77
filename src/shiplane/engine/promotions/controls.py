"""Holds and freezes: what people set to stop promotions, and lift again.

A hold pins an (environment, app) against auto-promotion; a freeze stops every promotion
into an environment (or the project). Both are audited; the gates see them on their
next look, which the controller triggers at once.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from shiplane.domain.promotion import PromotionState
from shiplane.domain.promotion_controls import Freeze, Hold
from shiplane.engine.promotions.model import Actor
from shiplane.engine.promotions.runtime import Runtime
from shiplane.store import audit, promotion_controls
from shiplane.store import promotions as store


def set_hold(
    rt: Runtime, s: Session, environment: str, app: str, *, actor: Actor, on: bool, reason: str = ""
) -> bool:
    """Set (`on`) or lift a hold; True when that changed anything."""
    rt.project.require_environment(environment)
    rt.project.require_app(app)
    changed = (
        promotion_controls.set_hold(s, Hold(environment, app, actor.name, rt.now(), reason))
        if on
        else promotion_controls.remove_hold(s, environment, app)
    )
    audit.append_event(
        s,
        actor=actor.name,
        action="hold.set" if on else "hold.lift",
        subject=f"{environment}/{app}",
        environment=environment,
        app=app,
        details={"reason": reason, "changed": changed},
    )
    return changed


def set_freeze(
    rt: Runtime, s: Session, environment: str | None, *, actor: Actor, on: bool, reason: str = ""
) -> bool:
    """Freeze (`on`) or unfreeze an environment, or the project when `environment` is
    None; True when that changed anything."""
    if environment is not None:
        rt.project.require_environment(environment)
    if on:
        scope: Literal["environment", "project"] = "environment" if environment else "project"
        changed = promotion_controls.set_freeze(
            s, Freeze(scope, environment, reason, actor.name, rt.now())
        )
    else:
        changed = promotion_controls.remove_freeze(s, environment)
    audit.append_event(
        s,
        actor=actor.name,
        action="freeze.set" if on else "freeze.lift",
        subject=environment or "project",
        environment=environment,
        details={"reason": reason, "changed": changed},
    )
    return changed


def moving_strategies(s: Session, environment: str | None) -> list[str]:
    """The open promotions into `environment` (None: any) whose progressive strategy is
    moving the cluster (a canary between its commit and its completion): what a freeze
    with abort aborts."""
    from shiplane.engine.promotions.strategy import in_progress

    return [p.id for p in store.open_promotions(s, environment=environment) if in_progress(p)]


def wake_waiting(s: Session) -> None:
    """Make every promotion waiting at its gates due now (a new shiplane.yaml is in force:
    its gates decide from now on, also for promotions that waited under the old one)."""
    store.wake_promotions(
        s, [p.id for p in store.open_promotions(s) if p.state == PromotionState.WAITING.value]
    )
