"""Artifact source states (table `source_states`): what each source found, its health
and next poll. Written by the engine's source service (engine/sources/)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shiplane.store.models import SourceState
from shiplane.store.records import SourceStateRecord

__all__ = ["get_state", "list_states", "note_assembly", "save_state"]


def _record(row: SourceState) -> SourceStateRecord:
    return SourceStateRecord(
        name=row.name,
        kind=row.kind,
        version=row.version,
        digest=row.digest,
        artifact=row.artifact,
        healthy=row.healthy,
        reason=row.reason,
        assembly=row.assembly,
        checked_at=row.checked_at,
        changed_at=row.changed_at,
        next_poll_at=row.next_poll_at,
        last_release=row.last_release,
    )


def get_state(s: Session, name: str) -> SourceStateRecord | None:
    row = s.get(SourceState, name)
    return None if row is None else _record(row)


def list_states(s: Session, names: Iterable[str] | None = None) -> dict[str, SourceStateRecord]:
    query = select(SourceState)
    if names is not None:
        query = query.where(SourceState.name.in_(sorted(set(names))))
    return {row.name: _record(row) for row in s.scalars(query)}


def save_state(
    s: Session,
    name: str,
    *,
    kind: str,
    now: datetime,
    next_poll_at: datetime | None,
    healthy: bool,
    reason: str | None,
    version: str | None = None,
    digest: str | None = None,
    artifact: str | None = None,
) -> tuple[SourceStateRecord, bool]:
    """Record a poll's outcome; True when the found artifact changed. An unhealthy
    outcome keeps the last found version (what the source knew still stands)."""
    row = s.get(SourceState, name)
    if row is None:
        row = SourceState(name=name, kind=kind, healthy=True)
        s.add(row)
    changed = False
    if healthy and artifact is not None and (row.artifact, row.version) != (artifact, version):
        row.version, row.digest, row.artifact = version, digest, artifact
        row.changed_at = now
        changed = True
    row.kind = kind
    row.healthy, row.reason = healthy, reason
    row.checked_at = now
    row.next_poll_at = next_poll_at
    s.flush()
    return _record(row), changed


def note_assembly(s: Session, name: str, reason: str | None, *, release: str | None = None) -> None:
    """The assembly outcome on the source that triggered it: why nothing was assembled
    (kept until its next change), or the release. Its health is unchanged: the source
    found its artifact; the combination is what was refused."""
    row = s.get(SourceState, name)
    if row is None:
        return
    row.assembly = reason
    if release is not None:
        row.last_release = release
    s.flush()
