"""`shiplane insights` formatting: ranges as durations back from now, durations as
people read them, and the two tables over a real API answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer

from shiplane.cli.cmd_insights import duration, insights_text, parse_moment, range_line
from tests.support.insights_history import write_history
from tests.unit.api.apphelpers import api_app
from tests.unit.api.test_insights import prod_project

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_since_takes_a_duration_back_from_now_or_an_iso_time() -> None:
    assert parse_moment("7d", "--since", NOW) == "2026-11-29T12:00:00Z"
    assert parse_moment("12h", "--since", NOW) == "2026-12-06T00:00:00Z"
    assert parse_moment("2w", "--since", NOW) == "2026-11-22T12:00:00Z"
    assert parse_moment("30m", "--since", NOW) == "2026-12-06T11:30:00Z"
    assert parse_moment("2026-05-01", "--since", NOW) == "2026-05-01"
    assert parse_moment(None, "--since", NOW) is None
    with pytest.raises(typer.BadParameter, match="neither a duration"):
        parse_moment("last week", "--since", NOW)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"), (0, "0s"), (45, "45s"), (90, "1m30s"), (600, "10m"), (3600, "1h"),
        (18600, "5h10m"), (86400, "1d"), (3 * 86400 + 4 * 3600 + 59, "3d4h"),
    ],
)  # fmt: skip
def test_durations_read_like_kubectl_ages(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_the_tables_show_production_first_then_each_environment(tmp_path: Path) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    with api_app(tmp_path, prod_project()) as api:
        with api.database.session() as s:
            write_history(s, "checkout", base)
        params = {"since": base.isoformat(), "until": (base + timedelta(days=1)).isoformat()}
        report = api.client.get("/api/v1/insights", params=params, headers=api.token()).json()
    assert range_line(report).endswith("(1 days)")
    lines = insights_text(report).splitlines()
    assert lines[0].split() == [
        "ENVIRONMENT", "DEPLOYS", "PER-WEEK", "LEAD-P50", "LEAD-P90", "CFR", "RESTORE-P50",
        "BOTTLENECK",
    ]  # fmt: skip
    assert lines[1].split() == [
        "(production)", "1", "7.0", "5h10m", "5h10m", "50%", "10m", "gate:approval",
    ]  # fmt: skip
    assert lines[2].split() == ["dev", "0", "0.0", "-", "-", "-", "-", "-"]
    assert lines[4].split()[0] == "prod"
    flow_head = lines.index("") + 1
    assert lines[flow_head].split()[0] == "ENVIRONMENT" and "GATE-WAITS" in lines[flow_head]
    prod_flow = lines[flow_head + 3]
    assert prod_flow.split()[:2] == ["prod", "1h50m"] and prod_flow.endswith("approval 2h")

    wide = insights_text(report, wide=True).splitlines()
    assert wide[0].split()[:3] == ["ENVIRONMENT", "TIER", "APP"]
    assert "FAILED/DEPLOYED" in wide[0] and "ROLLBACKS" in wide[0]
    app_rows = [line.split() for line in wide if line.split()[2:3] == ["checkout"]]
    assert [row[0] for row in app_rows] == ["(production)", "staging", "prod"]
    bare = insights_text(report, headers=False).splitlines()
    assert bare[0].startswith("(production)")


def test_no_environments_says_how_to_get_some() -> None:
    empty = {"since": "a", "until": "b", "days": 30, "production": None, "environments": []}
    assert "--config shiplane.yaml" in insights_text(empty)
