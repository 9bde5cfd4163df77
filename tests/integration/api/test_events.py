"""The event stream (server-sent events) on a real server: new audit events arrive as
they commit, filters apply, and a reconnect with Last-Event-ID resumes after the last
event seen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.support.serverproc import ServerProcess, running_server


def _release(server: ServerProcess, tag: str) -> None:
    with server.admin() as c:
        r = c.post("/api/v1/releases", json={"artifacts": {"web": f"r.example/web:{tag}"}})
        assert r.status_code == 201, r.text


def _read_events(server: ServerProcess, count: int, **kwargs: Any) -> list[dict[str, Any]]:
    """Open the stream, call `kwargs['then']` once it is open, read `count` events."""
    then = kwargs.pop("then", None)
    headers = {"Authorization": f"Bearer {server.admin_token}", **kwargs.pop("headers", {})}
    events: list[dict[str, Any]] = []
    timeout = httpx.Timeout(30.0)
    with httpx.stream(
        "GET", server.url + "/api/v1/events", headers=headers, params=kwargs, timeout=timeout
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        frame: dict[str, str] = {}
        for line in response.iter_lines():
            if line.startswith(": shiplane") and then is not None:
                then()
            elif line == "" and frame:
                events.append({"id": int(frame["id"]), "event": frame["event"],
                               "data": json.loads(frame["data"])})  # fmt: skip
                frame = {}
                if len(events) == count:
                    return events
            elif ":" in line and not line.startswith(":"):
                key, _, value = line.partition(": ")
                frame[key] = value
    raise AssertionError(f"the stream ended after {events}")


def test_events_stream_new_audit_events_and_resume(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    with running_server(tmp_path / "srv", url) as server:
        _release(server, "0")  # before the stream opens: not sent without `after`
        (first,) = _read_events(server, 1, then=lambda: _release(server, "1"))
        assert first["event"] == "release.create"
        assert first["data"]["details"]["artifacts"]["web"] == "r.example/web:1"
        # Resume after that event: the next release only, on a new connection.
        _release(server, "2")
        (resumed,) = _read_events(server, 1, headers={"Last-Event-ID": str(first["id"])})
        assert resumed["id"] > first["id"]
        assert resumed["data"]["details"]["artifacts"]["web"] == "r.example/web:2"
        # From the start, filtered by action prefix.
        replay = _read_events(server, 3, after=0, action="release.")
        assert [e["event"] for e in replay] == ["release.create"] * 3
        bad = httpx.get(
            server.url + "/api/v1/events",
            headers={"Authorization": f"Bearer {server.admin_token}", "Last-Event-ID": "x"},
        )
        assert bad.status_code == 422
        assert "Last-Event-ID" in bad.json()["detail"]
        assert httpx.get(server.url + "/api/v1/events").status_code == 401
        negative = httpx.get(
            server.url + "/api/v1/events",
            params={"after": "-1"},
            headers={"Authorization": f"Bearer {server.admin_token}"},
        )
        assert negative.status_code == 422
