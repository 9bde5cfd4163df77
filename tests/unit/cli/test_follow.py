"""Following a promotion (`promotion watch`, `promote --wait`): when it reads the state
again, what it prints and how it exits. The client is a test double replaying a stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shiplane.cli.client import CliFailure
from shiplane.cli.cmd_watch import follow_promotion

PID = "prm-01JX3K4M5N6P7Q8R9S0T1V2W3X"


class ReplayClient:
    """Answers GET /promotions/ID with the next state of `states` on each read; the event
    stream yields `lines`."""

    def __init__(self, states: list[str], lines: list[str]) -> None:
        self.states, self.lines, self.reads = list(states), lines, 0

    def get(self, path: str, params: Any = None) -> dict[str, Any]:
        state = self.states[min(self.reads, len(self.states) - 1)]
        self.reads += 1
        return {"promotion": {"id": PID, "environment": "prod", "state": state,
                              "reason": f"now {state}"}}  # fmt: skip

    def stream_lines(self, path: str, params: Any = None, **_: Any) -> Iterator[str]:
        assert path == "/events" and params == {"environment": "prod"}
        yield from self.lines


GREETING = [": shiplane event stream", ""]
EVENT = ["id: 5", "event: promotion.verified", 'data: {"seq": 5}', ""]


def test_reads_again_on_the_greeting_and_on_events_and_exits_0_on_success(
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = ReplayClient(["Waiting", "Waiting", "Verifying", "Succeeded"],
                          GREETING + EVENT + EVENT)  # fmt: skip
    assert follow_promotion(client, "01JX3K", timeout=60) == 0  # type: ignore[arg-type]
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "Waiting: now Waiting", "Verifying: now Verifying", "Succeeded: now Succeeded",
    ]  # fmt: skip


@pytest.mark.parametrize("end", ["Failed", "Aborted", "RolledBack", "Superseded"])
def test_any_other_end_exits_1(end: str) -> None:
    client = ReplayClient(["Deploying", end], GREETING)
    assert follow_promotion(client, PID, timeout=60) == 1  # type: ignore[arg-type]


def test_an_already_finished_promotion_needs_no_stream() -> None:
    client = ReplayClient(["Succeeded"], [])
    assert follow_promotion(client, PID, timeout=60) == 0  # type: ignore[arg-type]
    assert client.reads == 1


def test_a_stream_that_ends_first_is_a_failure() -> None:
    client = ReplayClient(["Waiting"], GREETING)
    with pytest.raises(CliFailure, match="stream ended"):
        follow_promotion(client, PID, timeout=60)  # type: ignore[arg-type]
