"""Releases repository (docs/contracts.md). Releases are immutable: there is no update
path; the only later change allowed is filling in an artifact's resolved digest."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shiplane.domain.release_contents import parse_contents
from shiplane.domain.releases import (
    RELEASE_ID_HEX_LENGTH,
    ReleaseValidationError,
    generate_alias,
    id_prefix_from_ref,
    parse_artifacts,
    release_id,
    validate_alias,
    validate_labels,
)
from shiplane.store.keyset import Keyset, keyset_page
from shiplane.store.models import Release, ReleaseArtifact, ReleaseLabel
from shiplane.store.records import ArtifactRecord, Page, ReleaseRecord

__all__ = [
    "AliasConflictError",
    "ReleaseValidationError",
    "aliases",
    "create_release",
    "get_release",
    "list_releases",
    "set_resolved_digest",
]

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class AliasConflictError(ReleaseValidationError):
    """The requested alias already names a different release."""


def _now() -> datetime:
    return datetime.now(UTC)


def _to_record(row: Release) -> ReleaseRecord:
    return ReleaseRecord(
        id=row.id,
        alias=row.alias,
        artifacts=[
            ArtifactRecord(
                app=a.app,
                image=a.image,
                tag=a.tag,
                digest=a.digest,
                resolved_digest=a.resolved_digest,
                ref=a.ref,
            )
            for a in sorted(row.artifacts, key=lambda a: a.app)
        ],
        labels={label.key: label.value for label in row.labels},
        creator=row.creator,
        created_at=row.created_at,
        charts=dict(row.charts or {}),
        commits=dict(row.commits or {}),
    )


def create_release(
    s: Session,
    *,
    artifacts: Mapping[str, str],
    alias: str | None,
    labels: Mapping[str, str],
    creator: str,
    charts: Mapping[str, str] | None = None,
    commits: Mapping[str, str] | None = None,
    now: Callable[[], datetime] = _now,
) -> tuple[ReleaseRecord, bool]:
    """Create a release, or return the existing one with the same contents.

    Returns (release, created). Identity is the contents only (artifacts, and the chart
    versions and config commits when there are any): re-creating the same
    contents with another alias or other labels returns the original untouched
    (created=False), because releases are immutable. Raises ReleaseValidationError for
    bad input and AliasConflictError when `alias` names a different release.
    """
    parsed = parse_artifacts(artifacts)
    contents = parse_contents({a.app for a in parsed}, charts, commits)
    clean_labels = validate_labels(labels)
    if alias is not None:
        validate_alias(alias)
    if not creator:
        raise ReleaseValidationError("a release needs a creator")
    rel_id = release_id(parsed, contents.charts, contents.commits)

    existing = s.get(Release, rel_id)
    if existing is not None:
        return _to_record(existing), False

    if alias is None:
        alias = _free_generated_alias(s, rel_id)
    elif _alias_owner(s, alias) is not None:
        raise AliasConflictError(f"alias {alias!r} is already used by another release")

    row = Release(
        id=rel_id,
        alias=alias,
        creator=creator,
        created_at=now(),
        charts=contents.charts or None,
        commits=contents.commits or None,
    )
    row.artifacts = [
        ReleaseArtifact(
            app=a.app,
            image=a.image,
            tag=a.tag,
            digest=a.digest,
            resolved_digest=a.resolved_digest,
            ref=a.ref,
        )
        for a in parsed
    ]
    row.labels = [ReleaseLabel(key=k, value=v) for k, v in clean_labels.items()]
    # A savepoint, so that losing a race with a concurrent creator of the same release
    # (PostgreSQL: unique violation once the other transaction commits) rolls back only
    # this insert and leaves the caller's transaction usable.
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except IntegrityError:
        winner = s.get(Release, rel_id, populate_existing=True)
        if winner is not None:
            return _to_record(winner), False
        raise AliasConflictError(f"alias {alias!r} is already used by another release") from None
    return _to_record(row), True


def _alias_owner(s: Session, alias: str) -> str | None:
    return s.scalar(select(Release.id).where(Release.alias == alias))


def _free_generated_alias(s: Session, rel_id: str) -> str:
    # Lengthen the hex suffix until the alias is free; with 4 hex this loop almost never
    # runs twice, and the full id suffix cannot clash with another release's alias.
    for suffix in (4, 8, RELEASE_ID_HEX_LENGTH - 4):
        candidate = generate_alias(rel_id, suffix)
        if _alias_owner(s, candidate) in (None, rel_id):
            return candidate
    return rel_id.removeprefix("rel-")


def get_release(s: Session, ref: str) -> ReleaseRecord | None:
    """Find a release by exact id, alias, or a unique id prefix ("rel-3f9c" or "3f9c2a").

    An ambiguous prefix returns None, like an unknown one (the caller asks for more
    characters); ids are 80-bit, so a 6+ hex prefix is practically always unique.
    """
    ref = ref.strip()
    if not ref:
        return None
    row = s.get(Release, ref)
    if row is None:
        row = s.scalar(select(Release).where(Release.alias == ref))
    if row is None:
        prefix = id_prefix_from_ref(ref)
        if prefix is not None:
            # The prefix is validated hex, so it holds no LIKE wildcards.
            rows = s.scalars(select(Release).where(Release.id.like(prefix + "%")).limit(2)).all()
            row = rows[0] if len(rows) == 1 else None
    return None if row is None else _to_record(row)


def list_releases(
    s: Session,
    *,
    app: str | None = None,
    labels: Mapping[str, str] | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ReleaseRecord]:
    """Releases newest first, keyset-paginated on (created_at, id).

    Raises InvalidCursorError (a ValueError) for a cursor this listing did not produce.
    """
    query = select(Release)
    if app is not None:
        query = query.where(
            exists().where(ReleaseArtifact.release_id == Release.id, ReleaseArtifact.app == app)
        )
    for key, value in (labels or {}).items():
        query = query.where(
            exists().where(
                ReleaseLabel.release_id == Release.id,
                ReleaseLabel.key == key,
                ReleaseLabel.value == value,
            )
        )
    rows, next_cursor = keyset_page(s, query, _KEYSET, cursor=cursor, limit=limit)
    return Page[ReleaseRecord](items=[_to_record(r) for r in rows], next_cursor=next_cursor)


def aliases(s: Session, release_ids: Iterable[str]) -> dict[str, str | None]:
    """The alias of each release (None: it has none), in one query; unknown ids are left
    out."""
    ids = sorted(set(release_ids))
    if not ids:
        return {}
    query = select(Release.id, Release.alias).where(Release.id.in_(ids))
    return {release_id: alias for release_id, alias in s.execute(query)}


def set_resolved_digest(s: Session, release: str, app: str, digest: str) -> bool:
    """Record the digest a tag resolved to (artifact discovery). Identity is unchanged.

    Returns False when the release or app is unknown. Only fills an empty field: once
    resolved, a release's content is fixed (a different digest raises ValueError).
    """
    if not _DIGEST.fullmatch(digest):
        raise ValueError(f"invalid digest {digest!r}: expected sha256:<64 lowercase hex>")
    row = s.get(ReleaseArtifact, (release, app))
    if row is None:
        return False
    if row.resolved_digest not in (None, digest):
        raise ValueError(
            f"{release} {app}: already resolved to {row.resolved_digest}, refusing {digest}"
        )
    row.resolved_digest = digest
    s.flush()
    return True


_KEYSET = Keyset("releases", (Release.created_at, Release.id), (datetime, str))
"""Newest first; the cursor kind keeps a cursor from being replayed on another listing."""
