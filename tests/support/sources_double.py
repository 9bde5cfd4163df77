"""An in-memory `SourceRefresher` for receiver tests.

A test double, on purpose: the real source service (engine/sources/) lands in the
artifact-sources branch; these tests pin what receivers need of it (engine/sources_port.py)
and are rerun against the real service by its own end-to-end test with the OCI registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class RecordingSources:
    """Sources by (host, repository) and by (git url, ref); records every refresh."""

    images: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    git: dict[tuple[str, str | None], list[str]] = field(default_factory=dict)
    refreshed: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    asked: list[tuple[str, str]] = field(default_factory=list)
    refresh_delay: float = 0.0

    def matching(self, host: str, repository: str) -> list[str]:
        self.asked.append((host, repository))
        return list(self.images.get((host.lower(), repository), []))

    def matching_git(self, url: str, ref: str | None) -> list[str]:
        self.asked.append((url, ref or ""))
        return list(self.git.get((url, ref), []))

    async def refresh(self, names: Sequence[str], *, reason: str) -> None:
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)  # a slow service: the answer must not wait
        self.refreshed.append((tuple(names), reason))
