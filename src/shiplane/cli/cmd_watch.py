"""Following progress over the event stream (GET /api/v1/events, server-sent events):
`shiplane events`, `shiplane promotion watch ID`, `promote --wait`, `status --watch`.

A change is noticed from its audit event; the current state is then read from the API,
so what is printed is never reconstructed from events. Keep-alives (every 15 s) also
trigger a read, so a missed event costs at most that long.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import typer

from shiplane.cli.client import ApiClient, CliFailure, open_client
from shiplane.cli.output import (
    OutputFormat,
    no_headers_option,
    output_option,
    reporting_failures,
)
from shiplane.cli.sse import FINISHED, Frame, exit_code, frames
from shiplane.cli.tables import Column, absolute, render_table

REREAD_AFTER_S = 5.0


def _stream(client: ApiClient, params: dict[str, Any]) -> Iterator[Frame]:
    yield from frames(client.stream_lines("/events", params, read_timeout=60.0))


def _event_columns() -> list[Column]:
    return [
        Column("TIME", lambda e: absolute(e.get("time"))),
        Column("SEQ", lambda e: str(e.get("seq"))),
        Column("ACTOR", lambda e: str(e.get("actor"))),
        Column("ACTION", lambda e: str(e.get("action"))),
        Column("SUBJECT", lambda e: str(e.get("subject"))),
        Column("ENV", lambda e: str(e.get("environment") or "-")),
        Column("APP", lambda e: str(e.get("app") or "-")),
    ]


def events(
    env: str | None = typer.Option(None, "--env", help="Only events about this environment."),
    action: str | None = typer.Option(
        None, "--action", metavar="PREFIX", help="Only actions starting with this, e.g. promotion."
    ),
    after: int | None = typer.Option(
        None, "--after", min=0, help="Start after this audit seq (default: only new events)."
    ),
    no_headers: bool = no_headers_option(),
    output: OutputFormat = output_option(),
) -> None:
    """Print audit events as they happen, until Ctrl-C: one line each (`-o json`: JSON
    lines). Resumable with --after SEQ."""
    params = {"environment": env, "action": action, "after": after}
    headers = not no_headers and output in (OutputFormat.table, OutputFormat.wide)
    with reporting_failures(), open_client() as client:
        for frame in _stream(client, params):
            if frame.data is None:
                continue
            if output in (OutputFormat.json, OutputFormat.yaml):
                sys.stdout.write(json.dumps(frame.data, separators=(",", ":")) + "\n")
            elif output is OutputFormat.name:
                sys.stdout.write(f"{frame.data.get('seq')}\n")
            else:
                text = render_table([frame.data], _event_columns(), headers=headers)
                sys.stdout.write(text + "\n")
                headers = False
            sys.stdout.flush()


def follow_promotion(client: ApiClient, promotion_id: str, timeout: float) -> int:
    """Print the promotion's state whenever it changes until it finishes; its exit code."""
    record = client.get(f"/promotions/{quote(promotion_id, safe='')}")["promotion"]
    full_id, environment = record["id"], record["environment"]
    shown: tuple[str, str] | None = None
    deadline = time.monotonic() + timeout

    def report(rec: dict[str, Any]) -> bool:
        nonlocal shown
        now = (rec["state"], rec.get("reason") or "")
        if now != shown:
            shown = now
            reason = f": {now[1]}" if now[1] else ""
            sys.stdout.write(f"{time.strftime('%H:%M:%S')} {full_id} {now[0]}{reason}\n")
            sys.stdout.flush()
        return bool(rec["state"] in FINISHED)

    if report(record):
        return exit_code(record["state"])
    last_read = time.monotonic()
    first = True
    for frame in _stream(client, {"environment": environment}):
        # Read again on an event of its environment, and on a keep-alive when the last
        # read is a few seconds old; the stream's greeting (its first frame) closes the
        # gap between the first read and the stream's start.
        stale = time.monotonic() - last_read >= REREAD_AFTER_S
        if frame.data is not None or first or stale:
            first = False
            record = client.get(f"/promotions/{full_id}")["promotion"]
            last_read = time.monotonic()
            if report(record):
                return exit_code(record["state"])
        if time.monotonic() > deadline:
            raise CliFailure(f"{full_id} still {record['state']} after {timeout:.0f}s")
    raise CliFailure("the event stream ended before the promotion finished")


def timeout_option() -> Any:
    return typer.Option(
        3600.0, "--timeout", metavar="SECONDS", min=1, help="Give up (exit 1) after this long."
    )


def watch(
    promotion_id: str = typer.Argument(
        ..., metavar="ID", help="Promotion id, or a unique prefix of it."
    ),
    timeout: float = timeout_option(),
) -> None:
    """Follow a promotion until it ends, printing each state; exit 0 when it succeeded,
    1 when it failed, was aborted, superseded or rolled back."""
    with reporting_failures(), open_client() as client:
        code = follow_promotion(client, promotion_id, timeout)
    raise typer.Exit(code)


def watch_matrix(client: ApiClient, show: Callable[[dict[str, Any]], None]) -> None:
    """Print the matrix once the stream is open (its greeting: no event between the read
    and the stream's start is lost), then again after every event, until Ctrl-C."""
    first = True
    for frame in _stream(client, {}):
        if first or frame.data is not None:
            if not first:
                sys.stdout.write("\n")
            first = False
            show(client.get("/matrix"))
            sys.stdout.flush()
