"""Auto-promotion: a release moves on by itself into environments that auto-promote.

A new release enters every root environment that auto-promotes; a release verified in
an environment enters each downstream environment that auto-promotes once its upstream
rule holds (`domain.upstream`, the same rule the upstream gate applies). Never twice
automatically, never into a held (environment, app).

Both are written in the transaction of their cause (the release, the verification). On
top of that the loop sweeps, level-triggered: the newest release that has no promotion
at all in a root environment gets one, however the release arrived.
"""

from __future__ import annotations

import structlog
from sqlalchemy.orm import Session

from shiplane.domain.errors import ShiplaneError
from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.domain.promotion_queue import may_auto_promote
from shiplane.domain.upstream import upstream_status
from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.model import SHIPLANE
from shiplane.engine.promotions.runtime import Runtime
from shiplane.store import promotion_controls, releases, verifications
from shiplane.store import promotions as store

log = structlog.get_logger(__name__)
S = PromotionState

# A promotion that ended like this never ran: the release may be promoted again.
_NEVER_RAN = (S.ABORTED.value, S.SUPERSEDED.value)


def root_environments(rt: Runtime) -> list[str]:
    """Environments that auto-promote and have no upstream: new releases enter here."""
    return [
        name
        for name in rt.project.environment_order()
        if rt.project.environments[name].auto_promote
        and not rt.project.environments[name].after.environments
    ]


def auto_promote_roots(rt: Runtime, s: Session, release_id: str) -> None:
    """A new release enters every root environment that auto-promotes."""
    roots = root_environments(rt)
    store.lock_queues(s, roots)
    for name in roots:
        maybe_auto_promote(rt, s, release_id, name)


def unpromoted_roots(rt: Runtime, s: Session) -> list[tuple[str, str]]:
    """(release, root environment) pairs the sweep should auto-promote: the newest
    release, into each root environment where it has no promotion in any state (one a
    person aborted stays aborted). Older releases are left alone: the newest supersedes
    them."""
    newest = releases.list_releases(s, limit=1).items
    if not newest:
        return []
    release_id = newest[0].id
    return [
        (release_id, env)
        for env in root_environments(rt)
        if not store.list_promotions(s, environment=env, release_id=release_id, limit=1).items
    ]


def sweep_roots(rt: Runtime, s: Session, missing: list[tuple[str, str]]) -> list[str]:
    """Create the auto-promotions `unpromoted_roots` found, checking again under the queue
    locks (another replica may have swept first); the environments promoted into."""
    store.lock_queues(s, [env for _, env in missing])
    created = []
    for release_id, env in missing:
        if store.list_promotions(s, environment=env, release_id=release_id, limit=1).items:
            continue
        if maybe_auto_promote(rt, s, release_id, env):
            log.info("promotion.auto_swept", environment=env, release=release_id)
            created.append(env)
    return created


def auto_promote_downstream(rt: Runtime, s: Session, verified: Promotion) -> None:
    """After a release is verified in an environment, start it into each downstream
    environment that auto-promotes and whose upstream condition now holds."""
    for name in rt.project.environment_order():
        env = rt.project.environments[name]
        if env.auto_promote and verified.environment in env.after.environments:
            maybe_auto_promote(rt, s, verified.release_id, name)


def maybe_auto_promote(rt: Runtime, s: Session, release_id: str, environment: str) -> bool:
    """Create the auto-promotion of `release_id` into `environment` if it is due;
    True when one was created."""
    after = rt.project.environments[environment].after
    release = releases.get_release(s, release_id)
    if release is None:
        return False
    upstream = list(after.environments)
    verified = verifications.verified_apps(s, release_id, upstream)
    if not upstream_status(after.mode, upstream, release.apps, verified).satisfied:
        return False
    existing = store.list_promotions(
        s, environment=environment, release_id=release_id, limit=5
    ).items
    if any(r.state not in _NEVER_RAN for r in existing):
        return False  # already promoted (or tried): never twice automatically
    if not may_auto_promote(
        environment, release.apps, promotion_controls.list_holds(s, environment)
    ):
        log.info("promotion.auto_held", environment=environment, release=release_id)
        return False
    try:
        create_promotion(
            rt,
            s,
            release_id,
            environment,
            actor=SHIPLANE,
            trigger="auto",
            reason="auto-promotion",
        )
    except ShiplaneError as exc:
        log.warning("promotion.auto_skipped", environment=environment, error=exc.message)
        return False
    return True
