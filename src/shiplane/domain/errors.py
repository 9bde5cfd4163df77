"""The one root of every error Shiplane raises on purpose, and its families.

Code below the API raises these and never thinks about HTTP: `api/problems.py` maps each
family to a status once, at the edge (the way httpx keeps one hierarchy under
`HTTPError`). A module's own error derives from the family that says what the caller
can do about it:

| family          | meaning                                            | API  |
| --------------- | -------------------------------------------------- | ---- |
| NotFoundError   | a named thing does not exist                       | 404  |
| InvalidError    | the input is wrong; nothing was changed            | 422  |
| ConflictError   | valid, but the current state does not allow it     | 409  |
| ForbiddenError  | the caller may not do this (policy, not identity)  | 403  |
| ExternalError   | a cluster, git remote or registry failed           | 502 (503 if retryable) |

Every error carries a message that says what went wrong and where, and may carry a
`hint` (how to fix it) and JSON-safe `details` for problem bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ShiplaneError(Exception):
    """The root: anything Shiplane raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class NotFoundError(ShiplaneError):
    """A named thing (release, promotion, environment, app, token…) does not exist."""


class InvalidError(ShiplaneError, ValueError):
    """The input is wrong: a bad field, reference or expression. Nothing was changed."""


class ConflictError(ShiplaneError):
    """Valid input, but the current state does not allow it (already finished, taken…)."""


class ForbiddenError(ShiplaneError):
    """Policy forbids this caller the action (separation of duties, scope, freeze)."""


class ExternalError(ShiplaneError):
    """Something outside Shiplane failed: a cluster, a git remote, a registry, a tool.

    `retryable` says whether the same call may succeed later unchanged (a timeout, a
    refused connection) or not (a rejected manifest, a failed render).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        hint: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, details=details)
        self.retryable = retryable
