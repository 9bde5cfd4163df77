"""The web UI's pure parts: CSRF tokens, session expiry, hashed assets, graph layers,
safe redirects after sign-in, matrix filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shiplane.store.web_sessions import is_expired
from shiplane.web.assets import IMMUTABLE, AssetManifest, content_digest
from shiplane.web.csrf import csrf_matches, csrf_token
from shiplane.web.matrix_view import DEFAULT_PAGE_SIZE, MatrixFilters, parse_filters
from shiplane.web.paths import UI_HOME, safe_next
from tests.unit.api.apphelpers import project


def test_csrf_token_is_derived_from_the_session_and_differs_between_sessions() -> None:
    one, other = csrf_token("secret-one"), csrf_token("secret-two")
    assert one == csrf_token("secret-one") and one != other
    assert len(one) == 64 and "secret-one" not in one
    assert csrf_matches(one, one)
    assert not csrf_matches(one, other)
    assert not csrf_matches(one, None) and not csrf_matches(one, "")
    assert not csrf_matches("", "")


def test_a_session_ends_at_its_expiry_exactly() -> None:
    end = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert not is_expired(end, end - timedelta(microseconds=1))
    assert is_expired(end, end)
    assert is_expired(end, end + timedelta(hours=1))


def test_assets_are_named_by_their_content_and_outdated_urls_are_refused(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "app.css").write_text("body { color: black }")
    (tmp_path / "vendor" / "lib.js").write_text("var x = 1;")
    (tmp_path / ".hidden.js").write_text("no")
    manifest = AssetManifest(tmp_path)
    assert manifest.names() == ["app.css", "vendor/lib.js"]
    digest = content_digest(b"body { color: black }")
    assert manifest.url("app.css") == f"/ui/assets/{digest}/app.css"
    found = manifest.find(digest, "app.css")
    assert found is not None and found.media_type.startswith("text/css")
    assert manifest.find("0" * 16, "app.css") is None
    assert manifest.url(".hidden.js") is None and manifest.url("missing.js") is None
    # A new version of a file is a new URL (so `immutable` caching is safe).
    (tmp_path / "app.css").write_text("body { color: navy }")
    assert AssetManifest(tmp_path).url("app.css") != manifest.url("app.css")
    assert "immutable" in IMMUTABLE
    assert AssetManifest(tmp_path / "absent").names() == []


def test_after_sign_in_only_paths_of_the_ui_are_followed() -> None:
    assert safe_next("/ui/matrix?app=x") == "/ui/matrix?app=x"
    for bad in (
        None,
        "",
        "https://evil.example/ui/",
        "//evil.example",
        "/ui//evil",
        "/api/v1",
        "/ui/\\evil",
        "/ui/\nx",
    ):
        assert safe_next(bad) == UI_HOME, bad


def test_matrix_filters_fall_back_and_say_why_beside_the_field() -> None:
    config = project()
    filters, errors = parse_filters(
        {"environment": "prd", "page": "zero", "size": "7", "out_of_sync": "1"}, config
    )
    assert filters == MatrixFilters(out_of_sync=True)
    assert "unknown environment 'prd'" in errors["environment"]
    assert "dev, staging, prod" in errors["environment"]
    assert "not a whole number" in errors["page"]
    assert "choose one of" in errors["size"]
    ok, none = parse_filters({"app": "pay", "environment": "prod", "page": "2"}, config)
    assert none == {} and ok.environment == "prod" and ok.page == 2
    assert ok.size == DEFAULT_PAGE_SIZE
    assert ok.query(page=3) == "app=pay&environment=prod&page=3"
