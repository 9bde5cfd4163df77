"""The port between webhook receivers and the artifact-source service.

A receiver (api/ or sources/receivers) learns from a payload *which* repository or git
ref changed; it never acts on what the payload says the new artifact is. It asks this
port which configured sources watch that place and asks for a refresh of those sources:
the service then reads the registry (or git remote) itself, as a poll would.

The engine's source service (engine/sources/) implements it and is exposed as
`Engine.sources`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

# The start of the `reason` of a refresh a webhook asked for: such a look always asks
# the registry for the digest (a push notification may be a tag pushed again).
HOOK_REASON = "webhook"


@runtime_checkable
class SourceRefresher(Protocol):
    def matching(self, host: str, repository: str) -> list[str]:
        """Names of the image and chart sources watching that registry host and
        repository: `host` as configured (e.g. "127.0.0.1:5000", compared without case),
        `repository` without the host (e.g. "shop/web")."""
        ...

    def matching_git(self, url: str, ref: str | None) -> list[str]:
        """Names of the git sources of that repository URL (normalised: scheme, case of
        the host, a trailing `.git` and `/` do not matter) whose branch or tag pattern
        takes `ref` (`refs/heads/main`, `main` or `refs/tags/v1`); `None` matches any."""
        ...

    async def refresh(self, names: Sequence[str], *, reason: str) -> None:
        """Refresh these sources now. Coalesced: requests arriving while a refresh of the
        same source runs are merged into one more run. Unknown names are ignored.
        Returns when the refresh is scheduled, not when it has finished."""
        ...
