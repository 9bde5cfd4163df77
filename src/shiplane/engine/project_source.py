"""The project in force: one holder that every engine part reads, swapped as a whole.

`serve` loads shiplane.yaml once at start; when the server follows its GitOps
repository (engine/git_watch.py), a valid new version replaces the old one here and a
broken one is recorded as rejected while the last good version stays in force. Every
part reads `source.project` when it needs the project instead of keeping a copy, so a
swap (one reference assignment of an immutable `ConfigVersion`) reaches all of them at
once, and a reader that took the project at the start of a step keeps a consistent
version for the whole step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shiplane.config.models import ProjectConfig

MAX_ERRORS = 20
"""Errors kept of a rejected version (the first ones; the count says how many there were)."""
MAX_ERROR_CHARS = 300
"""Each kept error is cut to this length: a message may quote a long value."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ConfigVersion:
    """One version of shiplane.yaml in force."""

    project: ProjectConfig
    # The GitOps commit it was read at; None when it came from a file (--config).
    commit: str | None
    loaded_at: datetime
    # Where relative paths in it (a cluster's kubeconfig) resolve.
    base_dir: Path


@dataclass(frozen=True)
class RejectedConfig:
    """A version that failed validation and was not put in force."""

    commit: str
    errors: tuple[str, ...]  # the first MAX_ERRORS, each at most MAX_ERROR_CHARS
    count: int  # how many errors there were in all
    at: datetime


def bounded_errors(errors: Sequence[str]) -> tuple[str, ...]:
    """The first MAX_ERRORS errors, each cut to MAX_ERROR_CHARS."""
    return tuple(
        e if len(e) <= MAX_ERROR_CHARS else e[: MAX_ERROR_CHARS - 3] + "..."
        for e in errors[:MAX_ERRORS]
    )


class ProjectSource:
    """The project in force, the commit it came from, and the last rejected version.

    `following` says whether the server follows its GitOps repository (a project read
    from `--config FILE` never changes)."""

    def __init__(
        self,
        project: ProjectConfig,
        *,
        commit: str | None = None,
        base_dir: Path = Path("."),
        following: bool = False,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._now = now
        self.following = following
        self._version = ConfigVersion(project, commit, now(), base_dir)
        self._rejected: RejectedConfig | None = None

    @classmethod
    def of(cls, project: ProjectConfig | ProjectSource) -> ProjectSource:
        """The source itself, or a fixed source holding a project (tests, tools)."""
        return project if isinstance(project, ProjectSource) else cls(project)

    @property
    def project(self) -> ProjectConfig:
        return self._version.project

    @property
    def version(self) -> ConfigVersion:
        return self._version

    @property
    def rejected(self) -> RejectedConfig | None:
        """The newest version refused since the one in force was applied, if any."""
        return self._rejected

    def apply(self, project: ProjectConfig, commit: str, base_dir: Path) -> ConfigVersion:
        """Put a validated version in force; the one it replaces."""
        previous = self._version
        self._version = ConfigVersion(project, commit, self._now(), base_dir)
        self._rejected = None
        return previous

    def reject(self, commit: str, errors: Sequence[str]) -> RejectedConfig:
        """Record a version that failed validation; the one in force stays."""
        self._rejected = RejectedConfig(commit, bounded_errors(errors), len(errors), self._now())
        return self._rejected

    def pinned(self) -> ProjectSource:
        """A source fixed at the version in force now (one step reads one version)."""
        fixed = ProjectSource.__new__(ProjectSource)
        fixed._now = self._now
        fixed.following = self.following
        fixed._version = self._version
        fixed._rejected = self._rejected
        return fixed
