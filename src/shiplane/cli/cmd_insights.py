"""`shiplane insights`: the four DORA metrics and where releases wait, per environment
(and per app with `-o wide`), from `GET /api/v1/insights`."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from shiplane.cli.client import open_client
from shiplane.cli.output import (
    OutputFormat,
    emit,
    no_headers_option,
    output_option,
    reporting_failures,
    table_width,
    usage_error,
)
from shiplane.cli.tables import Column, render_table

_AGO = re.compile(r"^(\d+)([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
PRODUCTION_ROW = "(production)"
"""The ENVIRONMENT of the row of all `tier: production` environments together."""


def parse_moment(value: str | None, option: str, now: datetime) -> str | None:
    """`7d`, `12h`, `30m`, `2w` (that long before now) or an ISO 8601 time or date (no
    zone: UTC), as the ISO 8601 time the API takes."""
    if value is None:
        return None
    ago = _AGO.match(value.strip())
    if ago:
        moment = now - timedelta(seconds=int(ago.group(1)) * _UNIT[ago.group(2)])
        return moment.isoformat().replace("+00:00", "Z")
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise usage_error(
            f"{value!r} is neither a duration back from now (7d, 12h, 30m, 2w) nor an "
            "ISO 8601 time (2026-05-01 or 2026-05-01T12:00:00Z)",
            option,
        ) from None
    return value


def insights(
    env: str | None = typer.Option(None, "--env", help="Only this environment."),
    app: str | None = typer.Option(None, "--app", help="Only promotions of this app."),
    since: str | None = typer.Option(
        None, "--since", help="Start: 7d, 12h, 2w back from now, or an ISO 8601 time (default 30d)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="End (exclusive): like --since (default: now)."
    ),
    no_headers: bool = no_headers_option(),
    output: OutputFormat = output_option(),
) -> None:
    """DORA metrics (deployment frequency, lead time, change failure rate, time to
    restore) and where releases wait, per environment; `-o wide` adds each app.

    The first row, (production), is every `tier: production` environment together."""
    now = datetime.now(UTC)
    params = {
        "environment": env,
        "app": app,
        "since": parse_moment(since, "--since", now),
        "until": parse_moment(until, "--until", now),
    }
    with reporting_failures(), open_client() as client:
        report = client.get("/insights", params)
    if output is OutputFormat.name:  # the environments reported on, one per line
        emit({"items": report.get("environments") or []}, output, str, name="environment")
        return
    if output not in (OutputFormat.table, OutputFormat.wide):
        emit(report, output, lambda _r: "")
        return
    wide = output is OutputFormat.wide
    sys.stderr.write(f"{range_line(report)}\n")
    sys.stdout.write(
        insights_text(report, wide=wide, headers=not no_headers, width=table_width()) + "\n"
    )


def range_line(report: Mapping[str, Any]) -> str:
    return f"from {report['since']} to {report['until']} ({report['days']:g} days)"


def insights_text(
    report: Mapping[str, Any], *, wide: bool = False, headers: bool = True, width: int | None = None
) -> str:
    """Two kubectl-style tables: the DORA metrics per environment (and per app in wide),
    then where releases waited (p50 per stage and the gate types, longest total first)."""
    rows = dora_rows(report, wide=wide)
    if not rows:
        return "no environments: start the server with --config shiplane.yaml"
    dora = render_table(rows, DORA_COLUMNS, wide=wide, headers=headers, width=width)
    flow = render_table(flow_rows(report), FLOW_COLUMNS, wide=wide, headers=headers, width=width)
    return f"{dora}\n\n{flow}"


def dora_rows(report: Mapping[str, Any], *, wide: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    scopes: list[tuple[str, str, Mapping[str, Any]]] = []
    if report.get("production"):
        scopes.append((PRODUCTION_ROW, "production", report["production"]))
    scopes += [
        (e["environment"], e.get("tier") or "-", e) for e in report.get("environments") or []
    ]
    for name, tier, scope in scopes:
        rows.append({"environment": name, "tier": tier, "app": "*", **scope})
        if wide:
            rows += [{"environment": name, "tier": tier, **app} for app in scope.get("apps") or []]
    return rows


def flow_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for env in report.get("environments") or []:
        flow = env.get("flow") or {}
        stages = {s["name"]: s for s in flow.get("stages") or []}
        rows.append({**flow, "environment": env["environment"], "stages": stages})
    return rows


def duration(seconds: float | None) -> str:
    """`45s`, `12m`, `5h10m`, `3d4h`; `-` when there is nothing to measure."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs}s" if secs and minutes < 10 else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _dora(key: str, fmt: Any) -> Any:
    return lambda r: fmt((r.get("dora") or {}).get(key))


def _stats(key: str, which: str) -> Any:
    return lambda r: duration(((r.get("dora") or {}).get(key) or {}).get(which))


def _stage(name: str) -> Any:
    return lambda r: duration((r["stages"].get(name) or {}).get("p50_seconds"))


def _gates(row: Mapping[str, Any]) -> str:
    gates = [g for g in row.get("gates") or [] if g.get("total_seconds")]
    return ", ".join(f"{g['name']} {duration(g['total_seconds'])}" for g in gates) or "-"


DORA_COLUMNS = [
    Column("ENVIRONMENT", lambda r: str(r["environment"])),
    Column("TIER", lambda r: str(r["tier"]), wide=True),
    Column("APP", lambda r: str(r["app"]), wide=True),
    Column("DEPLOYS", _dora("deployments", str)),
    Column("PER-WEEK", _dora("deployments_per_week", lambda v: f"{v:.1f}")),
    Column("LEAD-P50", _stats("lead_time", "p50_seconds")),
    Column("LEAD-P90", _stats("lead_time", "p90_seconds")),
    Column("CFR", _dora("change_failure_rate", _rate)),
    Column(
        "FAILED/DEPLOYED",
        lambda r: f"{r['dora']['change_failures']}/{r['dora']['changes_deployed']}",
        wide=True,
    ),
    Column("RESTORE-P50", _stats("time_to_restore", "p50_seconds")),
    Column("RESTORE-P90", _stats("time_to_restore", "p90_seconds"), wide=True),
    Column("UNRESTORED", _dora("unrestored", str), wide=True),
    Column("ROLLBACKS", _dora("rollbacks", str), wide=True),
    Column("BOTTLENECK", lambda r: str((r.get("flow") or {}).get("bottleneck") or "-")),
]

FLOW_COLUMNS = [
    Column("ENVIRONMENT", lambda r: str(r["environment"])),
    Column("READY-P50", _stage("ready")),
    Column("QUEUED-P50", _stage("queued")),
    Column("GATES-P50", _stage("gates")),
    Column("DEPLOYING-P50", _stage("deploying")),
    Column("VERIFYING-P50", _stage("verifying")),
    Column("GATE-WAITS", _gates, flex=True),
]
