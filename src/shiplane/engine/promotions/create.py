"""Creating a promotion: check the request, queue it, record it.

Every way a promotion comes to be (a person's request, a retry, a rollback, the
auto-promoter, an automatic rollback) goes through `create_promotion`, inside the
caller's transaction, so the promotion, its first step, its audit event and whatever it
supersedes or holds are written together or not at all.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shiplane.config.release_fit import ReleaseMisfitError
from shiplane.domain.errors import InvalidError, NotFoundError
from shiplane.domain.promotion import (
    Promotion,
    PromotionEvent,
    PromotionKind,
    PromotionTrigger,
    Step,
)
from shiplane.domain.promotion_controls import Hold
from shiplane.domain.promotion_ids import new_promotion_id
from shiplane.domain.promotion_queue import superseded_by
from shiplane.engine.promotions.model import Actor, PromotionData
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.transitions import transition
from shiplane.store import audit, deploys, promotion_controls, releases
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord


def create_promotion(
    rt: Runtime,
    s: Session,
    release_ref: str,
    environment: str,
    *,
    actor: Actor,
    reason: str = "",
    kind: PromotionKind = "normal",
    trigger: PromotionTrigger = "manual",
    rollback_of: str | None = None,
) -> PromotionRecord:
    """Create a promotion of `release_ref` (id, unique prefix or alias) into
    `environment`; it starts by itself when the queue lets it."""
    rt.project.require_environment(environment)
    release = releases.get_release(s, release_ref)
    if release is None:
        raise NotFoundError(
            f"no release matches {release_ref!r} (by id, unique id prefix or alias)"
        )
    check_release_fits(rt, s, release, environment)
    store.lock_queue(s, environment)
    now = rt.now()
    promotion = Promotion(
        id=new_promotion_id(now),
        release_id=release.id,
        environment=environment,
        apps=tuple(rt.ordered_apps(release.apps)),
        requested_by=actor.name,
        created_at=now,
        kind=kind,
        trigger=trigger,
        reason=reason or "queued",
        updated_at=now,
        rollback_of=rollback_of,
    )
    if trigger == "auto":
        open_now = [r.domain() for r in store.open_promotions(s, environment=environment)]
        for older in superseded_by(open_now, promotion):
            transition(rt, s, older, PromotionEvent.SUPERSEDED, f"superseded by {promotion.id}")
    record = store.insert_promotion(
        s, promotion, next_check_at=None, data=PromotionData(request_reason=reason).to_json()
    )
    store.add_step(
        s,
        promotion.id,
        Step("requested", now, now, "succeeded", f"{trigger} {kind} by {actor.name}"),
    )
    audit.append_event(
        s,
        actor=actor.name,
        action="promotion.create",
        subject=promotion.id,
        environment=environment,
        app=promotion.apps[0] if len(promotion.apps) == 1 else None,
        details={
            "release": release.id,
            "apps": list(promotion.apps),
            "kind": kind,
            "trigger": trigger,
            "reason": reason,
            "rollback_of": rollback_of,
        },
    )
    if kind == "normal" and trigger == "manual":
        _hold_if_older(rt, s, release, promotion, actor.name)
    return record


def check_release_fits(rt: Runtime, s: Session, release: ReleaseRecord, environment: str) -> None:
    # Releases are checked when created; one stored before (or from before a config
    # change) is checked again here, so nothing that does not fit is ever deployed.
    try:
        rt.project.require_release_fits({a.app: a.ref for a in release.artifacts}, release.charts)
    except ReleaseMisfitError as exc:
        raise ReleaseMisfitError(
            f"release {release.id} does not fit shiplane.yaml: {exc.message}",
            hint=exc.hint,
            details=exc.details,
        ) from None
    # An app needs its dependencies: in the release, or already running there.
    deployed = set(deploys.running_in(s, environment))
    for app in release.apps:
        for dep in rt.project.apps[app].depends_on:
            if dep not in release.apps and dep not in deployed:
                raise InvalidError(
                    f"release {release.id} is missing app {dep!r}, which {app!r} depends "
                    f"on and which {environment!r} does not run yet; include {dep} in "
                    "the release or promote it first"
                )


def _hold_if_older(
    rt: Runtime, s: Session, release: ReleaseRecord, p: Promotion, actor: str
) -> None:
    """A manual promotion of an older release pins the environment: auto-promotion
    must not undo it until the hold is lifted."""
    running_now = deploys.running_in(s, p.environment)
    for app in p.apps:
        current = running_now.get(app)
        if current is None:
            continue
        running = releases.get_release(s, current)
        if running is not None and running.created_at > release.created_at:
            promotion_controls.set_hold(
                s,
                Hold(
                    p.environment,
                    app,
                    actor,
                    rt.now(),
                    f"manual promotion {p.id} of an older release",
                ),
            )
