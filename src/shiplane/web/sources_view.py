"""What the UI shows of artifact sources (docs/sources.md): the pipeline page's Sources
panel, one row per source of shiplane.yaml with what it watches and found, its health,
its next poll and the last release it assembled; and, on a release's page, which source
assembled it.

A row is the API's `SourceOut` (api/routes_sources.py `describe`, the same data path as
`GET /api/v1/sources`) plus what a page adds: the next poll as the running engine knows
it, and the name of the last release. Read in two queries whatever the number of
sources: the states in one, the names of their last releases in one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from shiplane.api.routes_sources import SourceOut, describe
from shiplane.config.models import ProjectConfig
from shiplane.engine.sources.service import CREATOR_PREFIX
from shiplane.store import releases
from shiplane.store import sources as store
from shiplane.store.records import ReleaseRecord

# sha256: and 12 hex digits, as `docker images` shows an id: enough to tell two apart.
SHORT_DIGEST = len("sha256:") + 12
SOURCE_LABEL = "source"  # the label an assembled release carries (engine/sources/service.py)

NextPoll = Callable[[str], datetime | None]


@dataclass(frozen=True)
class SourceRow:
    source: SourceOut
    next_poll_at: datetime | None  # the engine's schedule, else the one last recorded
    last_release_name: str | None  # the last assembled release's alias, else its short id

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def health(self) -> str:
        """`healthy`, `unhealthy`, or `not checked` (no look at it yet)."""
        if self.source.healthy is None:
            return "not checked"
        return "healthy" if self.source.healthy else "unhealthy"

    @property
    def short_digest(self) -> str | None:
        return short_digest(self.source.digest)


def short_digest(digest: str | None) -> str | None:
    if digest is None or len(digest) <= SHORT_DIGEST:
        return digest
    return digest[:SHORT_DIGEST] + "…"


def source_rows(
    session: Session, project: ProjectConfig | None, next_poll: NextPoll | None = None
) -> list[SourceRow]:
    """Every source of `project`, by name; `next_poll`: the running engine's schedule
    (`SourceService.next_poll`), which is fresher than the recorded one."""
    if project is None or not project.sources:
        return []
    states = store.list_states(session, project.sources)
    described = [describe(n, c, states.get(n)) for n, c in sorted(project.sources.items())]
    names = releases.aliases(session, (s.last_release for s in described if s.last_release))
    rows = []
    for source in described:
        planned = next_poll(source.name) if next_poll is not None else None
        release = source.last_release
        rows.append(
            SourceRow(
                source=source,
                next_poll_at=planned or source.next_poll_at,
                last_release_name=(names.get(release) or release[:16]) if release else None,
            )
        )
    return rows


def refreshed_notice(row: SourceRow) -> str:
    """The flash message after a refresh from the page: what the look found."""
    source = row.source
    if source.healthy is False:
        return f"Refreshed {source.name}: unhealthy: {source.reason or 'no reason recorded'}."
    if source.version is None:
        return f"Refreshed {source.name}: nothing found yet."
    found = source.version + (f" ({row.short_digest})" if row.short_digest else "")
    return f"Refreshed {source.name}: found {found}."


def assembled_by(release: ReleaseRecord) -> str | None:
    """The source that assembled `release` (creator `source/<name>`), else None."""
    if not release.creator.startswith(CREATOR_PREFIX):
        return None
    name = release.creator[len(CREATOR_PREFIX) :]
    return name or release.labels.get(SOURCE_LABEL) or None


__all__ = ["SourceRow", "assembled_by", "refreshed_notice", "short_digest", "source_rows"]
