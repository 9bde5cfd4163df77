"""A stored release becomes the one ReleaseInfo that gates and checks read."""

from __future__ import annotations

from datetime import UTC, datetime

from shiplane.domain.releases import ReleaseInfo
from shiplane.store.records import ArtifactRecord, ReleaseRecord


def test_release_record_info_carries_what_gates_and_checks_read() -> None:
    record = ReleaseRecord(
        id="rel-1",
        alias="1.4.2",
        artifacts=[
            ArtifactRecord(
                app="web",
                image="registry.example/shop/web",
                tag="1.4.2",
                digest=None,
                resolved_digest=None,
                ref="registry.example/shop/web:1.4.2",
            )
        ],
        labels={"branch": "main"},
        creator="ci",
        created_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    assert record.info() == ReleaseInfo(
        id="rel-1",
        artifacts={"web": "registry.example/shop/web:1.4.2"},
        creator="ci",
        labels={"branch": "main"},
        alias="1.4.2",
    )
