"""The demo follows a canary as it moves: each step as it ends, and what the current step
waits for (the analysis's measurements as Prometheus answers them), read from the API
the way `shiplane promotion show` reads it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from shiplane.cli.client import ApiClient, CliFailure

FINISHED = {"Succeeded", "Failed", "Aborted", "Superseded", "RolledBack"}


def step_line(step: dict[str, Any]) -> str:
    """One ended step as the demo prints it."""
    detail = f": {step['detail']}" if step.get("detail") else ""
    return f"{step['name']} -> {step['outcome']}{detail}"


def is_strategy_step(step: dict[str, Any]) -> bool:
    name = str(step.get("name", ""))
    return name.startswith(("canary", "strategy", "blueGreen"))


def follow(
    api: ApiClient,
    promotion_id: str,
    say: Callable[[str], None],
    *,
    timeout: float = 240.0,
    interval: float = 0.5,
    after_first_step: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Print the promotion's strategy steps and its waits until it finishes; return it.
    `after_first_step` runs once, when the strategy's first step has ended. Raises
    CliFailure when it does not finish within `timeout`."""
    printed: set[int] = set()
    first_step_seen = False
    last_reason = ""
    last_state = ""
    deadline = time.monotonic() + timeout
    while True:
        detail = api.get(f"/promotions/{promotion_id}")
        promotion: dict[str, Any] = detail["promotion"]
        for step in detail["steps"]:
            if step["id"] in printed or step.get("ended_at") is None:
                continue
            if is_strategy_step(step):
                say(f"  {step_line(step)}")
            printed.add(step["id"])
            if " step 1/" in step["name"] and not first_step_seen:
                first_step_seen = True
                if after_first_step is not None:
                    after_first_step()
        state, reason = promotion["state"], promotion.get("reason") or ""
        if state != last_state:
            say(f"  {promotion['environment']}: {state}")
            last_state = state
        if state == "Deploying" and reason != last_reason:
            say(f"    waiting: {reason}")
        last_reason = reason
        if state in FINISHED:
            return promotion
        if time.monotonic() > deadline:
            raise CliFailure(f"timed out after {timeout:.0f}s following promotion {promotion_id}")
        time.sleep(interval)


__all__ = ["follow", "is_strategy_step", "step_line"]
