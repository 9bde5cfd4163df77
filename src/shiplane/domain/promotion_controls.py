"""What people do to promotions besides requesting them: approvals, freezes and holds.

Plain values recorded by the API and read by the gates and the queue. Pure, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shiplane.domain.clock import ensure_utc

ApprovalDecision = Literal["approve", "reject"]


@dataclass(frozen=True, slots=True)
class Approval:
    """One person's decision on a promotion.

    An approval binds to (release_id, environment): it counts for any promotion of that
    release into that environment until it expires, and never for another release or
    environment. A rejection ends the promotion it was given on (`promotion_id`) only, so
    a later retry of the same release can be decided afresh.
    """

    user: str
    groups: tuple[str, ...]
    """The approver's groups when they decided (from their token or identity)."""
    at: datetime
    decision: ApprovalDecision
    release_id: str
    environment: str
    promotion_id: str
    comment: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", ensure_utc(self.at))


FreezeScope = Literal["environment", "project"]


@dataclass(frozen=True, slots=True)
class Freeze:
    """Stop the line: no promotion into `environment` (or any, for a project freeze)."""

    scope: FreezeScope
    environment: str | None
    """The frozen environment; None for a project-wide freeze."""
    reason: str
    set_by: str
    set_at: datetime

    def __post_init__(self) -> None:
        if (self.scope == "environment") != (self.environment is not None):
            raise ValueError("an environment freeze names its environment; a project one does not")
        object.__setattr__(self, "set_at", ensure_utc(self.set_at))

    def applies_to(self, environment: str) -> bool:
        return self.scope == "project" or self.environment == environment


@dataclass(frozen=True, slots=True)
class Hold:
    """A pin that stops auto-promotion for one (environment, app).

    Set by a manual promotion of an older release or a rollback (so auto-promotion does
    not undo it), or by hand; lifted by hand or by promoting again.
    """

    environment: str
    app: str
    set_by: str
    set_at: datetime
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "set_at", ensure_utc(self.set_at))
