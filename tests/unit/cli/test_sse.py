"""The event stream as the CLI parses it, and how following a promotion exits."""

from __future__ import annotations

import pytest

from shiplane.cli.sse import Frame, exit_code, frames


def test_frames_dispatch_on_blank_lines_and_keep_comments_apart() -> None:
    lines = [
        ": shiplane event stream", "",
        "id: 7", "event: promotion.approve", 'data: {"seq": 7, "subject": "prm-1"}', "",
        ": keep-alive", "",
        "id: 8", "data: {\"seq\":", "data: 8}", "",
    ]  # fmt: skip
    got = list(frames(lines))
    assert got == [
        Frame(comment="shiplane event stream"),
        Frame(id="7", event="promotion.approve", data={"seq": 7, "subject": "prm-1"}),
        Frame(comment="keep-alive"),
        Frame(id="8", data={"seq": 8}),
    ]


def test_a_frame_cut_off_at_the_end_is_still_dispatched_and_bad_json_kept_as_text() -> None:
    assert list(frames(["data: not json"])) == [Frame(data={"text": "not json"})]


@pytest.mark.parametrize(
    ("state", "code"),
    [("Succeeded", 0), ("Failed", 1), ("Aborted", 1), ("Superseded", 1), ("RolledBack", 1)],
)
def test_exit_code_reflects_the_outcome(state: str, code: int) -> None:
    assert exit_code(state) == code
