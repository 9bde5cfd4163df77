"""The Audit and Insights pages in process: filters with the API's words, keyset
paging, the chain verified from the page, the filtered export streamed as JSON lines,
the insights numbers exactly the API's, and gzip on /ui but never on the event stream."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import update
from starlette.types import Receive, Scope, Send

from shiplane.store import audit
from shiplane.store.db import Database
from shiplane.store.models import AuditEvent
from shiplane.web.compression import UiGZipMiddleware
from shiplane.web.paths import EVENTS_PATH
from tests.support.insights_history import write_history
from tests.unit.api.apphelpers import project
from tests.unit.api.test_insights import prod_project
from tests.unit.web.uihelpers import ui_app


def _events(database: Database, count: int) -> None:
    with database.session() as s:
        for n in range(count):
            audit.append_event(
                s,
                actor="olga" if n % 2 else "rita",
                action="environment.frozen" if n % 3 == 0 else "release.created",
                subject=f"thing-{n}",
                details={"n": n},
                environment="prod" if n % 2 else "dev",
                app="checkout",
            )


def test_audit_filters_pages_and_verifies(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        _events(ui.database, 130)
        ui.sign_in(ui.token())
        first = ui.client.get("/ui/audit?actor=olga")
        older = re.search(r'href="(/ui/audit\?[^"]*cursor=[^"]+)"', first.text)
        assert older is not None
        second = ui.client.get(older.group(1).replace("&amp;", "&"))
        bad = ui.client.get("/ui/audit?environment=prd&since=yesterday")
        backwards = ui.client.get("/ui/audit?since=2026-12-02T00:00&until=2026-12-01T00:00")
        verified = ui.client.get("/ui/audit/verify", headers={"HX-Request": "true"})
        with ui.database.session() as s:
            s.execute(update(AuditEvent).where(AuditEvent.seq == 7).values(actor="mallory"))
        broken = ui.client.get("/ui/audit/verify")
    rows = re.findall(r'<th scope="row">(\d+)</th>', first.text)
    assert len(rows) == 50 and rows[0] == "130"
    assert "rita" not in first.text.split("<tbody>")[1]
    more = re.findall(r'<th scope="row">(\d+)</th>', second.text)
    assert more[0] == str(int(rows[-1]) - 2) and len(more) == 15
    assert bad.status_code == 200 and 'id="audit-environment-error"' in bad.text
    assert "environment &#39;prd&#39; is not defined (did you mean &#39;prod&#39;?)" in bad.text
    assert 'id="audit-since-error"' in bad.text and "query.since: Input should be" in bad.text
    assert "query.since: must not be later than query.until" in backwards.text
    assert verified.text.startswith('<div id="chain-result"') and "Chain ok" in verified.text
    assert "130 events checked" in verified.text
    assert "Chain broken at event 7" in broken.text


def test_the_export_streams_the_filtered_events(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        _events(ui.database, 450)
        ui.sign_in(ui.token())
        page = ui.client.get("/ui/audit?actor=olga&action=release.created")
        link = re.search(r'href="(/ui/audit/export[^"]*)"', page.text)
        assert link is not None
        export = ui.client.get(link.group(1).replace("&amp;", "&"))
        everything = ui.client.get("/ui/audit/export")
    assert export.headers["content-type"] == "application/x-ndjson"
    assert "attachment" in export.headers["content-disposition"]
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert lines and {(e["actor"], e["action"]) for e in lines} == {("olga", "release.created")}
    assert [e["seq"] for e in lines] == sorted(e["seq"] for e in lines)  # oldest first
    assert len(lines) == len([n for n in range(450) if n % 2 and n % 3])
    assert len(everything.text.splitlines()) == 450


def test_insights_show_the_apis_numbers(tmp_path: Path) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    since, until = base.isoformat(), (base + timedelta(days=1)).isoformat()
    with ui_app(tmp_path, prod_project()) as ui:
        with ui.database.session() as s:
            write_history(s, "checkout", base)
        token = ui.token()
        ui.sign_in(token)
        page = ui.client.get("/ui/insights", params={"since": since, "until": until})
        api = ui.client.get(
            "/api/v1/insights",
            params={"since": since, "until": until},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        bad = ui.client.get("/ui/insights?since=2026-12-02T00:00&until=2026-12-01T00:00")
        unknown = ui.client.get("/ui/insights?app=nope")
    pairs = re.findall(r'<data value="([^"]*)" data-key="([^"]*)"', page.text)
    assert len(pairs) > 40
    for value, key in pairs:
        assert value == _api_value(api, key), key
    assert "gate:approval" in page.text and '<svg class="chart"' in page.text
    assert 'class="chart-bar chart-bar-gate"' in page.text and "style=" not in page.text
    assert 'id="insights-since-error"' in bad.text and "must be earlier than until" in bad.text
    assert 'id="insights-app-error"' in unknown.text


def _api_value(report: dict, key: str) -> str:  # type: ignore[type-arg]
    """The API's value at a page's `data-key` (`block|app|path`), as the page writes it."""
    block, app, path = key.split("|")
    if block == "production":
        item = report["production"]
    else:
        item = next(e for e in report["environments"] if e["environment"] == block)
    if app:
        item = next(a for a in item["apps"] if a["app"] == app)
    parts = path.split(".")
    if parts[0] == "flow":
        node = next(x for x in item["flow"][parts[1]] if x["name"] == parts[2])[parts[3]]
    else:
        node = item["dora"]
        for part in parts:
            node = node[part]
    return "null" if node is None else repr(node)


def test_ui_pages_are_gzipped_and_the_api_is_not(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        _events(ui.database, 60)
        ui.sign_in(ui.token())
        page = ui.client.get("/ui/audit", headers={"Accept-Encoding": "gzip"})
        api = ui.client.get("/api/v1/matrix", headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("content-encoding") == "gzip"
    assert "content-security-policy" in page.headers and "Verify the chain" in page.text
    assert api.headers.get("content-encoding") is None


def test_the_event_stream_is_never_compressed() -> None:
    """Frames must reach the browser one by one: the stream's path is not compressed."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        media = b"text/event-stream" if scope["path"] == EVENTS_PATH else b"text/html"
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", media)]}
        )
        await send({"type": "http.response.body", "body": b"data: x\n\n" * 500})

    client = TestClient(UiGZipMiddleware(app, prefix="/ui"))
    stream = client.get(EVENTS_PATH, headers={"Accept-Encoding": "gzip"})
    html = client.get("/ui/page", headers={"Accept-Encoding": "gzip"})
    assert stream.headers.get("content-encoding") is None
    assert html.headers.get("content-encoding") == "gzip"
