"""What a webhook says about a promotion: every field docs/notifications.md names, with
the API's kind names, and links from the configured public URL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from shiplane.config import load_project_text
from shiplane.domain.promotion_controls import Approval
from shiplane.engine.notify_format import build_event
from shiplane.engine.service import promotion_payload
from shiplane.store import promotion_controls, releases
from shiplane.store.db import Database

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
PROJECT = load_project_text("""\
apiVersion: shiplane/v1alpha1
project: shop
clusters: {local: {inCluster: true}}
environments:
  prod: {cluster: local, namespace: prod, approvals: {required: 2, expiry: 1h}}
apps:
  checkout: {images: [registry.example/shop/checkout], manifests: {path: apps/checkout}}
""")


def _approval(user: str, release_id: str, at: datetime) -> Approval:
    return Approval(
        user=user, groups=(), at=at, decision="approve", release_id=release_id,
        environment="prod", promotion_id="prm-1",
    )  # fmt: skip


def test_waiting_for_approval_payload_has_alias_version_approvals_and_links(
    tmp_path: Path,
) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    try:
        with db.session() as s:
            release, _ = releases.create_release(
                s,
                artifacts={"checkout": "registry.example/shop/checkout:1.4.2"},
                alias="spring-sale",
                labels={},
                creator="ci",
            )
            promotion_controls.record_approval(
                s, _approval("alice", release.id, NOW - timedelta(minutes=5))
            )
            promotion_controls.record_approval(
                s, _approval("alice", release.id, NOW - timedelta(minutes=4))
            )
            # Expired approvals do not count.
            promotion_controls.record_approval(
                s, _approval("bob", release.id, NOW - timedelta(hours=2))
            )
            record = SimpleNamespace(
                id="prm-1", release_id=release.id, environment="prod", apps=("checkout",),
                state="Waiting", reason="approval: 1 of 2", requested_by="carol",
                kind="normal", trigger="auto",
            )  # fmt: skip
            summary = promotion_payload(
                record, s, PROJECT, event="promotion.waiting_for_approval", now=NOW
            )
    finally:
        db.close()
    payload = build_event(
        "shop", "promotion.waiting_for_approval", summary, now=NOW,
        base_url="https://shiplane.example/",
    ).to_payload()  # fmt: skip
    promotion = payload["promotion"]
    assert promotion["alias"] == "spring-sale"
    assert promotion["version"] == "1.4.2"
    assert promotion["approvals"] == {"received": 1, "required": 2}
    assert promotion["kind"] == "normal" and promotion["trigger"] == "auto"
    assert payload["links"]["api"] == "https://shiplane.example/api/v1/promotions/prm-1"
