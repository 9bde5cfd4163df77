"""A forge's `pull_request` webhook wakes the promotion waiting for that pull request.

Pull-request mode (engine/promotions/pull_request.py) polls its pull request every
`gitops.pollInterval`; a signed delivery naming a pull request of the GitOps repository
makes the promotions waiting for it due now, in the transaction that records the
delivery. What happened (merged, closed) is asked of the forge by the promotion itself,
never taken from the payload, so a delivery can only make a look come sooner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from shiplane.domain.promotion import PromotionState
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.pull_request import waiting_for_merge
from shiplane.engine.sources.matching import normalise_git_url
from shiplane.store import promotions as store


class PullRequestFollower:
    """Wakes promotions waiting for pull requests of the repository at `remote_url`."""

    def __init__(self, remote_url: str, wake_loop: Callable[[], None]) -> None:
        self._wanted = normalise_git_url(remote_url)
        self._wake_loop = wake_loop

    def follows(self, url: str) -> bool:
        """Whether `url` is the GitOps repository."""
        return normalise_git_url(url) == self._wanted

    def wake(self, s: Session, numbers: Sequence[int]) -> list[str]:
        """Make the promotions waiting for one of `numbers` due now; their ids."""
        woken = [
            r.id
            for r in store.open_promotions(s)
            if (number := waiting_for_merge(r)) is not None and number in numbers
        ]
        store.wake_promotions(s, woken)
        return woken

    def holds(self, s: Session, environment: str) -> bool:
        """Whether a promotion of `environment` in pull-request mode waits for or syncs
        its merge: a push announcing that merge is left to it (git_push.py)."""
        return any(
            r.state == PromotionState.DEPLOYING.value
            and (PromotionData.of(r).pull_request or {}).get("phase") not in (None, "closed")
            for r in store.open_promotions(s, environment=environment)
        )

    def woken(self) -> None:
        """After the transaction: the loop looks at due promotions now."""
        self._wake_loop()
