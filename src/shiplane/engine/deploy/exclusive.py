"""One deploy or sync of each (environment, app) at a time: two would race on its pin
and inventory, and an older commit could be applied after a newer one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

from shiplane.engine.leases import HeldLease, LeaseKeeper
from shiplane.engine.locks import KeyedLocks


def deploy_lease(environment: str, app: str) -> str:
    """The lease one deploy or sync of (environment, app) holds, across replicas."""
    return f"deploy/{environment}/{app}"


class AppExclusion:
    """In this process a lock per (environment, app), taken in name order; across
    replicas the leases `deploy/<environment>/<app>`, taken all at once. Other apps of
    the environment deploy in parallel."""

    def __init__(self, leases: LeaseKeeper | None) -> None:
        self.leases = leases
        self._locks: KeyedLocks[tuple[str, str]] = KeyedLocks()

    @contextlib.asynccontextmanager
    async def hold(
        self,
        environment: str,
        apps: Sequence[str],
        waiting: Callable[[], None] | None = None,
    ) -> AsyncIterator[list[HeldLease]]:
        """Hold `apps` of `environment`; the leases held (none without a keeper).
        `waiting` is called once when another replica makes us wait a second or more."""
        chosen = sorted(set(apps))
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self._locks.hold(*((environment, a) for a in chosen)))
            if self.leases is None:
                yield []
                return
            told = False

            def tell(seconds: float) -> None:
                nonlocal told
                if seconds >= 1.0 and not told and waiting is not None:
                    told = True
                    waiting()

            names = [deploy_lease(environment, app) for app in chosen]
            async with self.leases.hold_all(names, waiting=tell) as held:
                yield held


def waiting_note(environment: str, say: Callable[[str], None] | None) -> Callable[[], None]:
    """What `AppExclusion.hold` calls when another replica makes a deploy wait."""

    def note() -> None:
        if say is not None:
            say(f"waiting for another replica deploying to {environment}")

    return note
