"""`GET /` leads somewhere useful, and the API docs page works offline (no CDN)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.api.apphelpers import api_app, project


def test_root_and_api_root_name_the_docs_the_api_and_the_probes(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        root = api.client.get("/")
        api_root = api.client.get("/api/v1")
        for link in root.json()["links"].values():
            assert api.client.get(link).status_code == 200, link
    assert root.status_code == 200 and api_root.json() == root.json()
    links = root.json()["links"]
    assert links["docs"] == "/api/v1/docs"
    assert links["api"] == "/api/v1" and links["health"] == "/healthz"
    assert links["openapi"] == "/api/v1/openapi.json"


def test_docs_page_is_self_contained_and_lists_every_operation(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        page = api.client.get("/api/v1/docs")
        schema = api.client.get("/api/v1/openapi.json").json()
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    # Nothing is loaded from elsewhere: no scripts, stylesheets or images by URL.
    assert "<script" not in html
    assert not re.search(r"(src|href)=\"https?://", html)
    assert "cdn" not in html.lower()
    assert 'href="/api/v1/openapi.json"' in html
    for path, operations in schema["paths"].items():
        assert f"<code>{path}</code>" in html, path
        for method in operations:
            assert f">{method.upper()}</span>" in html
    assert "one of: Pending" in html  # the promotions state filter's values
