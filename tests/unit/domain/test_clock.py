"""The one clock: gates, checks and the engine read time (and wait) through it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from shiplane.domain.clock import (
    DEFAULT_START,
    FixedClock,
    ManualClock,
    SystemClock,
    WaitingClock,
    sleep_until,
)
from shiplane.gates import checks
from shiplane.gates.checks import base as checks_base

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_checks_use_the_domain_clock_and_release() -> None:
    from shiplane.domain import clock, releases
    from shiplane.gates import context

    assert checks.ManualClock is clock.ManualClock and checks.SystemClock is clock.SystemClock
    assert checks.ReleaseInfo is releases.ReleaseInfo is context.ReleaseInfo
    assert checks_base.ReleaseInfo is releases.ReleaseInfo
    ctx = checks.CheckContext("qa", "shop-qa", releases.ReleaseInfo("rel-1"), ("web",), "run")
    assert isinstance(ctx.clock, SystemClock)


def test_manual_clock_moves_by_hand_and_jumps_when_waited_on() -> None:
    clock = ManualClock()
    assert clock.now() == DEFAULT_START
    assert clock.advance(90) == DEFAULT_START + timedelta(seconds=90)
    assert clock.advance(timedelta(minutes=1)) == DEFAULT_START + timedelta(seconds=150)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="naive"):
        clock.set(datetime(2026, 1, 1))

    async def wait() -> None:
        await sleep_until(clock, T0)

    started = time.monotonic()
    anyio.run(wait)
    assert clock.now() == T0 and time.monotonic() - started < 1
    assert isinstance(clock, WaitingClock) and not isinstance(FixedClock(T0), WaitingClock)


def test_a_clock_that_cannot_wait_is_waited_on_in_real_time() -> None:
    clock = FixedClock(T0)
    assert clock.now() == T0

    async def wait() -> None:
        await sleep_until(clock, T0 + timedelta(seconds=0.05))

    started = time.monotonic()
    anyio.run(wait)
    assert time.monotonic() - started >= 0.04
    assert SystemClock().now().tzinfo is UTC
