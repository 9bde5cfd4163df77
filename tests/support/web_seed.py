"""The shop the web UI's tests look at, as the engine would have written it: checkout
v1.4.0 in dev and staging, payments degraded in dev and held in staging, a promotion to
prod waiting for approval (and, optionally, prod frozen)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from shiplane.domain.promotion import Promotion
from shiplane.domain.promotion_controls import Freeze, Hold
from shiplane.store import matrix, promotion_controls, promotions, releases


def seed_shop(
    s: Session, *, now: datetime, promotion_id: str, digest: str, freeze_prod: bool = False
) -> str:
    """Write the shop into `s`; the id of checkout's release."""
    release, _ = releases.create_release(
        s,
        artifacts={"checkout": f"registry.example/shop/checkout@sha256:{digest}"},
        alias="v1.4.0",
        labels={},
        creator="ci",
    )
    for env in ("dev", "staging"):
        matrix.record_deployment(
            s,
            environment=env,
            app="checkout",
            release_id=release.id,
            sync_status="Synced",
            health="Healthy",
        )
    matrix.record_deployment(
        s,
        environment="dev",
        app="payments",
        release_id=None,
        sync_status="OutOfSync",
        health="Degraded",
    )
    promotions.insert_promotion(
        s,
        Promotion(
            id=promotion_id,
            release_id=release.id,
            environment="prod",
            apps=("checkout",),
            requested_by="rita",
            created_at=now,
            reason="waiting for 1 more approval from release-managers",
        ),
        next_check_at=None,
    )
    promotion_controls.set_hold(s, Hold("staging", "payments", "olga", now, "rolled back"))
    if freeze_prod:
        promotion_controls.set_freeze(
            s, Freeze("environment", "prod", "year-end freeze", "olga", now)
        )
    return release.id
