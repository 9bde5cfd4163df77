"""How often the promotion loop looks again."""

from __future__ import annotations

from datetime import timedelta

IDLE_RECHECK = timedelta(seconds=30)
"""Waits with no known end (a queue, an approval) are looked at again this often; events
(an approval, a finished promotion) wake the loop earlier."""

TICK_SECONDS = 1.0
"""The loop looks for due promotions at least this often."""

MAX_PARALLEL = 64
"""Promotions one replica works on at once."""
