"""The audit trail through the API: one event per state-changing call, filters,
pagination, export, and tamper detection with plain SQL."""

from __future__ import annotations

import json

from tests.integration.api.helpers import (
    assert_problem,
    audit_count,
    create_token,
    image,
    unique_app,
)
from tests.support.serverproc import ServerProcess, run_sql


def test_each_state_change_writes_exactly_one_event(api_server: ServerProcess) -> None:
    app = unique_app()
    with api_server.admin() as admin:
        before = audit_count(admin)
        release = admin.post("/api/v1/releases", json={"artifacts": {app: image(app)}}).json()
        assert audit_count(admin) == before + 1
        event = admin.get("/api/v1/audit", params={"limit": 1}).json()["items"][0]
        assert (event["actor"], event["action"], event["subject"], event["app"]) == (
            "bootstrap",
            "release.create",
            release["id"],
            app,
        )

        # Re-creating the same release changes nothing, so it records nothing.
        admin.post("/api/v1/releases", json={"artifacts": {app: image(app)}})
        assert audit_count(admin) == before + 1

        created = admin.post("/api/v1/tokens", json={"role": "viewer", "name": "audited"})
        assert audit_count(admin) == before + 2
        token_event = admin.get("/api/v1/audit", params={"limit": 1}).json()["items"][0]
        assert token_event["action"] == "token.create"
        assert created.json()["token"] not in json.dumps(token_event)

        admin.delete(f"/api/v1/tokens/{created.json()['record']['id']}")
        assert audit_count(admin) == before + 3

        # Rejected calls and reads write nothing.
        admin.post("/api/v1/releases", json={"artifacts": {app: "bad ref"}})
        admin.get("/api/v1/releases")
        assert audit_count(admin) == before + 3


def test_failed_authorisation_writes_nothing(api_server: ServerProcess) -> None:
    app = unique_app()
    with api_server.admin() as admin:
        viewer_token = create_token(admin, "viewer")
        before = audit_count(admin)
        with api_server.client(viewer_token) as viewer:
            viewer.post("/api/v1/releases", json={"artifacts": {app: image(app)}})
        assert audit_count(admin) == before


def test_filters_and_pagination(api_server: ServerProcess) -> None:
    app = unique_app()
    with api_server.admin() as admin:
        promoter_token = create_token(admin, "promoter")
        with api_server.client(promoter_token) as promoter:
            actor = promoter.get("/api/v1/whoami").json()["name"]
            for n in range(5):
                promoter.post("/api/v1/releases", json={"artifacts": {app: image(app, str(n))}})
        mine = admin.get("/api/v1/audit", params={"actor": actor}).json()["items"]
        assert len(mine) == 5 and {e["actor"] for e in mine} == {actor}
        by_app = admin.get("/api/v1/audit", params={"app": app, "action": "release.create"})
        assert len(by_app.json()["items"]) == 5

        newest = mine[0]["time"]
        since = admin.get("/api/v1/audit", params={"actor": actor, "since": newest}).json()
        assert [e["seq"] for e in since["items"]] == [mine[0]["seq"]]
        until = admin.get("/api/v1/audit", params={"actor": actor, "until": newest}).json()
        assert [e["seq"] for e in until["items"]] == [e["seq"] for e in mine[1:]]

        seqs: list[int] = []
        cursor = None
        while True:
            params: dict[str, str | int] = {"actor": actor, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = admin.get("/api/v1/audit", params=params).json()
            seqs += [e["seq"] for e in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seqs == [e["seq"] for e in mine]

        assert_problem(admin.get("/api/v1/audit", params={"since": "yesterday"}), 422, "since")
        assert_problem(
            admin.get("/api/v1/audit", params={"since": "2030-01-02", "until": "2030-01-01"}),
            422,
            "since",
        )


def test_export_streams_every_event_oldest_first(api_server: ServerProcess) -> None:
    app = unique_app()
    with api_server.admin() as admin:
        admin.post("/api/v1/releases", json={"artifacts": {app: image(app)}})
        total = audit_count(admin)
        with admin.stream("GET", "/api/v1/audit/export") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("application/x-ndjson")
            events = [json.loads(line) for line in response.iter_lines() if line]
    assert [e["seq"] for e in events] == list(range(1, total + 1))
    assert events[-1]["subject"].startswith("rel-")


def test_tampering_is_detected_and_names_the_event(fresh_server: ServerProcess) -> None:
    with fresh_server.admin() as admin:
        for n in range(4):
            app = unique_app()
            admin.post("/api/v1/releases", json={"artifacts": {app: image(app, str(n))}})
        clean = admin.get("/api/v1/audit/verify").json()
        assert clean == {"ok": True, "checked": 4, "first_bad_seq": None, "reason": None}

        run_sql(
            fresh_server.database_url,
            "UPDATE audit_events SET actor = %s WHERE seq = %s",
            ("mallory", 3),
        )
        broken = admin.get("/api/v1/audit/verify")
        assert broken.status_code == 200
        result = broken.json()
        assert result["ok"] is False
        assert result["first_bad_seq"] == 3
        assert "modified" in result["reason"]
