"""A wake that arrives while the loop is busy is not lost (it used to wait a whole tick)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from shiplane.engine.promotions import loop as loop_module
from shiplane.engine.promotions.loop import PromotionLoop


def test_a_wake_during_a_pass_starts_the_next_pass_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A tick so long that a lost wake would show as a timeout below.
    monkeypatch.setattr(loop_module, "TICK_SECONDS", 60.0)
    passes: list[int] = []
    second = asyncio.Event()

    class Loop(PromotionLoop):
        async def reconcile_due(self) -> None:
            passes.append(len(passes))
            if len(passes) == 1:
                self.wake()  # a request arrives while this pass runs
            else:
                second.set()

    async def main() -> None:
        loop = Loop(cast(Any, None), own_leases=False, max_parallel=1)
        loop.start()
        try:
            await asyncio.wait_for(second.wait(), timeout=10)
        finally:
            await loop.stop()

    asyncio.run(main())
    assert passes[:2] == [0, 1]
