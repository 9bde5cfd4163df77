"""Which release an automatic rollback goes back to. Pure, no I/O.

A failed promotion rolls back to the release last verified in its environment. A release
train rolls back only when every app of it was last verified with the same release:
anything else would combine versions that were never verified together, so a person
must decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

NO_EARLIER_RELEASE = "no earlier verified release to roll back to"
MIXED_RELEASES = "apps were verified with different releases; roll back by hand"


@dataclass(frozen=True, slots=True)
class RollbackTarget:
    release_id: str | None
    """The release to go back to; None when there is none to choose automatically."""
    reason: str = ""
    """Why there is no target (empty when there is one)."""


def rollback_target(last_verified: Mapping[str, str | None]) -> RollbackTarget:
    """`last_verified`: app -> the release last verified for it in the environment (other
    than the one that failed), or None when none was."""
    releases = {r for r in last_verified.values() if r is not None}
    if len(releases) == 1 and None not in last_verified.values():
        return RollbackTarget(releases.pop())
    return RollbackTarget(None, NO_EARLIER_RELEASE if not releases else MIXED_RELEASES)
