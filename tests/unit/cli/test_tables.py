"""Plain kubectl-style tables: columns, short unique ids, AGE, fitting 80 columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shiplane.cli.tables import Column, absolute, age, render_table, short_ids
from shiplane.domain.promotion_ids import promotion_id_prefix

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)


def _columns() -> list[Column]:
    return [
        Column("ID", lambda r: str(r["id"])),
        Column("STATE", lambda r: str(r["state"])),
        Column("CREATED", lambda r: absolute(r["at"]), wide=True),
        Column("REASON", lambda r: str(r["reason"]), flex=True),
    ]


ROWS = [
    {"id": "prm-01JX3K4M5N6P7Q8R9S0T1V2W3X", "state": "Waiting", "at": "2026-12-06T11:00:00Z",
     "reason": "waiting for 1 approval from release-managers and 20s of soak in staging"},
    {"id": "prm-01JX3K4M5N6P7Q8R9S0T1V2W3Y", "state": "Succeeded", "at": None,
     "reason": "verified"},
]  # fmt: skip


def test_plain_columns_left_aligned_with_a_header_line() -> None:
    text = render_table(ROWS, _columns())
    lines = text.splitlines()
    assert lines[0].split() == ["ID", "STATE", "REASON"]
    assert lines[1].startswith("prm-01JX3K4M5N6P7Q8R9S0T1V2W3X   Waiting     waiting for")
    assert "│" not in text and "━" not in text and "┃" not in text
    assert all(line == line.rstrip() for line in lines)


def test_no_headers_leaves_out_the_header_line_only() -> None:
    lines = render_table(ROWS, _columns(), headers=False).splitlines()
    assert len(lines) == 2 and lines[0].startswith("prm-")


def test_wide_adds_wide_columns() -> None:
    header = render_table(ROWS, _columns(), wide=True).splitlines()[0]
    assert header.split() == ["ID", "STATE", "CREATED", "REASON"]
    assert "2026-12-06T11:00:00Z" in render_table(ROWS, _columns(), wide=True)


def test_fits_80_columns_by_shortening_free_text_never_ids() -> None:
    text = render_table(ROWS, _columns(), width=80)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert ROWS[0]["id"] in text and ROWS[1]["id"] in text
    assert "…" in text  # the reason was shortened, visibly


def test_multi_line_cells_become_one_line() -> None:
    rows = [{"id": "a", "state": "x", "at": None, "reason": "two\nlines"}]
    assert render_table(rows, _columns()).splitlines()[1].endswith("two lines")


def test_short_ids_are_unique_prefixes_with_a_minimum_length() -> None:
    ids = ["rel-3f9c2a41d0e5b6c7aa00", "rel-3f9c2a41d0e5b6c7bb00", "rel-77aa00112233445566ff"]
    shown = short_ids(ids, type_prefix="rel-", minimum=8)
    assert shown["rel-77aa00112233445566ff"] == "77aa0011"
    assert shown["rel-3f9c2a41d0e5b6c7aa00"] == "3f9c2a41d0e5b6c7a"
    assert shown["rel-3f9c2a41d0e5b6c7bb00"] == "3f9c2a41d0e5b6c7b"
    assert len(set(shown.values())) == 3
    assert short_ids(["rel-12"], type_prefix="rel-", minimum=8) == {"rel-12": "12"}


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=5), "5s"),
        (timedelta(seconds=119), "119s"),
        (timedelta(minutes=3, seconds=7), "3m7s"),
        (timedelta(minutes=42), "42m"),
        (timedelta(hours=5, minutes=2), "5h2m"),
        (timedelta(hours=30), "30h"),
        (timedelta(days=3, hours=4), "3d4h"),
        (timedelta(days=40), "40d"),
        (timedelta(days=800), "2y"),
        (timedelta(seconds=-3), "0s"),
    ],
)
def test_age_reads_like_kubectl(delta: timedelta, expected: str) -> None:
    assert age((NOW - delta).isoformat(), NOW) == expected


def test_age_and_absolute_of_missing_times() -> None:
    assert age(None, NOW) == "-" and absolute("") == "-"
    assert absolute("2026-12-06T13:00:00+01:00") == "2026-12-06T12:00:00Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("prm-01JX3K", "prm-01JX3K"),
        ("01jx3k", "prm-01JX3K"),
        ("PRM-01jx3k4m", "prm-01JX3K4M"),
        ("01J", None),  # too short to mean anything
        ("prm-01JU", None),  # U is not Crockford base32
        ("prm-01JX%", None),  # no LIKE wildcards get through
    ],
)
def test_promotion_id_prefixes(text: str, expected: str | None) -> None:
    assert promotion_id_prefix(text) == expected


AUDIT_ROWS = [
    {"seq": 12, "time": "2026-12-06T11:59:00Z", "actor": "ci-staging",
     "action": "promotion.create", "subject": "prm-01JX3K4M5N6P7Q8R9S0T1V2W3X",
     "environment": "staging", "details": {"release": "rel-dff00aa2b5347e420adb"}},
    {"seq": 11, "time": "2026-12-06T11:58:00Z", "actor": "bootstrap",
     "action": "release.create", "subject": "rel-dff00aa2b5347e420adb", "environment": None,
     "details": {"alias": "1.4.2"}},
    {"seq": 10, "time": "2026-12-06T11:57:00Z", "actor": "alice", "action": "hold.set",
     "subject": "prod-eu/checkout", "environment": "prod-eu", "details": {}},
]  # fmt: skip


def test_audit_events_fit_80_columns_with_subjects_as_short_ids() -> None:
    from shiplane.cli.cmd_audit import audit_columns
    from shiplane.cli.output import OutputFormat

    text = render_table(AUDIT_ROWS, audit_columns(AUDIT_ROWS, OutputFormat.table), width=80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), text
    assert lines[0].split() == ["SEQ", "AGE", "ACTOR", "ACTION", "SUBJECT", "ENV"]
    subjects = [line.split()[4] for line in lines[1:]]
    assert subjects == ["prm-01JX3K4M5N", "rel-dff00aa2", "prod-eu/checkout"]

    wide = render_table(AUDIT_ROWS, audit_columns(AUDIT_ROWS, OutputFormat.wide), wide=True)
    assert "prm-01JX3K4M5N6P7Q8R9S0T1V2W3X" in wide and "rel-dff00aa2b5347e420adb" in wide
    assert wide.splitlines()[0].split()[-1] == "DETAILS" and '{"alias":"1.4.2"}' in wide


DELIVERY_ROWS = [
    {"id": "dlv-0193a1b2c3d4e5f60718293a4b5c6d7e", "status": "pending", "channel": "releases",
     "event": "promotion.waiting_for_approval", "promotion_id": "prm-01JX3K4M5N6P7Q8R9S0T1V2W3X",
     "sequence": 3, "attempts": 0, "next_attempt_at": "2026-12-06T12:01:00Z",
     "created_at": "2026-12-06T11:59:00Z", "last_error": None},
    {"id": "dlv-0193a1b2c3d5e5f60718293a4b5c6d7e", "status": "failed", "channel": "releases",
     "event": "promotion.rolled_back", "promotion_id": "prm-01JX3K4M5N6P7Q8R9S0T1V2W3Y",
     "sequence": 4, "attempts": 24, "next_attempt_at": None,
     "created_at": "2026-12-06T11:58:00Z", "last_error": "HTTP 500: internal server error"},
]  # fmt: skip


def _ago(hours: int) -> str:
    """A start time `hours` before now. AGE is relative to the wall clock, so fixed
    timestamps made the column's width (and what DETAIL keeps) depend on the hour the test
    ran (rows are made at import, so the age also grows during a run); from 8 h to 2 days
    AGE shows whole hours (`10h`) whatever the minutes."""
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


HISTORY_ROWS = [
    {"started_at": _ago(hours=10), "environment": "prod-eu", "app": "checkout",
     "kind": "rollback", "status": "interrupted", "release_id": "rel-dff00aa2b5347e420adb",
     "git_commit": "9fceb02d0ae598e95dc970b74767f19372d61af8", "actor": "release-managers",
     "error": None, "steps": [{"name": "health", "outcome": "failed",
                               "detail": "Deployment/checkout: 1 of 3 replicas available"}]},
    {"started_at": _ago(hours=12), "environment": "staging", "app": "payments",
     "kind": "deploy", "status": "succeeded", "release_id": "rel-afa4444f18532f37ea93",
     "git_commit": "1c002dd4b536e7479fe34593e72e6c6c1819e53b", "actor": "ci", "error": None,
     "steps": []},
]  # fmt: skip


def test_notification_deliveries_fit_80_columns() -> None:
    from shiplane.cli.cmd_notify import delivery_columns
    from shiplane.cli.output import OutputFormat

    text = render_table(
        DELIVERY_ROWS, delivery_columns(DELIVERY_ROWS, OutputFormat.table), width=80
    )
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), text
    assert lines[0].split() == ["ID", "STATUS", "CHANNEL", "EVENT", "AGE", "ERROR"]
    assert lines[1].split()[:4] == ["0193a1b2c3d4e5", "pending", "releases", "waiting_for_approval"]
    assert lines[2].split()[3] == "rolled_back" and "HTTP 500" in lines[2]

    wide_columns = delivery_columns(DELIVERY_ROWS, OutputFormat.wide)
    wide = render_table(DELIVERY_ROWS, wide_columns, wide=True)
    assert "promotion.waiting_for_approval" in wide and "ATTEMPTS" in wide.splitlines()[0]


def test_history_fits_80_columns_with_the_commit_in_wide() -> None:
    from shiplane.cli.cmd_deploy import history_columns
    from shiplane.cli.output import OutputFormat

    text = render_table(HISTORY_ROWS, history_columns(HISTORY_ROWS, OutputFormat.table), width=80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), text
    assert lines[0].split() == ["AGE", "ENV", "APP", "KIND", "STATUS", "RELEASE", "DETAIL"]
    assert lines[1].split()[1:6] == ["prod-eu", "checkout", "rollback", "interrupted", "dff00aa2"]
    assert lines[1].endswith("Deployment/check…")  # the detail is what shrinks

    wide = render_table(HISTORY_ROWS, history_columns(HISTORY_ROWS, OutputFormat.wide), wide=True)
    assert "9fceb02d0ae598e95dc970b74767f19372d61af8" in wide
    assert "rel-dff00aa2b5347e420adb" in wide and "release-managers" in wide
