"""Artifact sources in the web UI: the pipeline page's Sources panel (what each source
watches and found, health with the reason, next poll, the last release it assembled), its
Refresh button (CSRF, the promoter role, the engine; a flash message), and on a release's
page the source that assembled it and tag-only artifacts marked unresolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shiplane.api.routes_sources import describe
from shiplane.config import load_project_text
from shiplane.config.models import ProjectConfig
from shiplane.store import releases
from shiplane.store import sources as store
from shiplane.store.db import Database
from shiplane.store.records import ReleaseRecord
from shiplane.web.sources_view import (
    SourceRow,
    assembled_by,
    refreshed_notice,
    short_digest,
    source_rows,
)
from tests.support.api_project import PROJECT_YAML
from tests.unit.web.test_views import _counting
from tests.unit.web.uihelpers import attach_engine, ui_app

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
DIGEST = "sha256:" + "ab12cd34ef56" + "0" * 52
# Loopback port 1: nothing listens, so a look fails at once ("connection refused").
CHECKOUT = "127.0.0.1:1/shop/checkout"
PAYMENTS = "127.0.0.1:1/shop/payments"
SOURCES = f"""\
sources:
  checkout:
    image: {{repository: {CHECKOUT}, constraint: ">=1 <2"}}
    apps: [checkout]
    interval: 10m
  payments:
    image: {{repository: {PAYMENTS}}}
    apps: [payments]
"""


def _project(sources: str = SOURCES) -> ProjectConfig:
    text = PROJECT_YAML.replace("registry.example/shop/checkout", CHECKOUT).replace(
        "registry.example/shop/payments,", f"{PAYMENTS},"
    )
    return load_project_text(text + sources)


def _seed(database: Database) -> ReleaseRecord:
    """checkout found 1.2.0 and assembled a release; payments' registry refused."""
    with database.session() as s:
        store.save_state(
            s, "checkout", kind="image", now=NOW, next_poll_at=NOW + timedelta(minutes=10),
            healthy=True, reason=None, version="1.2.0", digest=DIGEST,
            artifact=f"{CHECKOUT}:1.2.0@{DIGEST}",
        )  # fmt: skip
        release, _ = releases.create_release(
            s,
            artifacts={"checkout": f"{CHECKOUT}:1.2.0@{DIGEST}"},
            alias=None,
            labels={"source": "checkout"},
            creator="source/checkout",
        )
        store.note_assembly(s, "checkout", None, release=release.id)
        store.save_state(
            s, "payments", kind="image", now=NOW, next_poll_at=NOW + timedelta(minutes=5),
            healthy=False, reason="401 Unauthorized: the registry refused the credentials",
        )  # fmt: skip
    return release


# --- the view model ------------------------------------------------------------------


def test_short_digest_keeps_the_algorithm_and_twelve_hex_digits() -> None:
    assert short_digest(DIGEST) == "sha256:ab12cd34ef56…"
    assert short_digest(None) is None
    assert short_digest("sha256:ab") == "sha256:ab"


def test_a_release_names_its_source_only_when_a_source_assembled_it() -> None:
    def release(creator: str, labels: dict[str, str]) -> ReleaseRecord:
        return ReleaseRecord(
            id="r" * 64, alias="", artifacts=[], labels=labels, creator=creator, created_at=NOW
        )

    assert assembled_by(release("source/web", {"source": "web"})) == "web"
    assert assembled_by(release("ci", {"source": "web"})) is None  # a label alone is not it
    assert assembled_by(release("alice", {})) is None


def test_rows_read_two_queries_and_prefer_the_engines_next_poll(tmp_path: Path) -> None:
    project = _project()
    planned = NOW + timedelta(minutes=3)
    with ui_app(tmp_path, project) as ui:
        release = _seed(ui.database)
        with _counting(ui.database) as statements, ui.database.session() as s:
            rows = source_rows(s, project, lambda name: planned if name == "payments" else None)
    checkout, payments = rows
    assert [r.name for r in rows] == ["checkout", "payments"]
    assert checkout.source.watches == CHECKOUT and checkout.source.select == "semver >=1 <2"
    assert checkout.health == "healthy" and checkout.short_digest == "sha256:ab12cd34ef56…"
    assert checkout.next_poll_at == NOW + timedelta(minutes=10)  # the recorded one
    assert release.alias and checkout.last_release_name == release.alias  # a generated alias
    assert payments.health == "unhealthy" and payments.next_poll_at == planned
    assert payments.last_release_name is None
    assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 2


def test_the_notice_says_what_the_look_found() -> None:
    project = _project()
    config = project.sources["checkout"]
    never = SourceRow(describe("checkout", config, None), None, None)
    assert never.health == "not checked"
    assert refreshed_notice(never) == "Refreshed checkout: nothing found yet."
    found = never.source.model_copy(update={"healthy": True, "version": "1.2.0", "digest": DIGEST})
    assert (
        refreshed_notice(SourceRow(found, None, None))
        == "Refreshed checkout: found 1.2.0 (sha256:ab12cd34ef56…)."
    )
    down = found.model_copy(update={"healthy": False, "reason": "cannot reach 127.0.0.1:1"})
    assert refreshed_notice(SourceRow(down, None, None)) == (
        "Refreshed checkout: unhealthy: cannot reach 127.0.0.1:1."
    )


# --- the pages -------------------------------------------------------------------------


def test_the_pipeline_shows_each_source_with_health_next_poll_and_last_release(
    tmp_path: Path,
) -> None:
    with ui_app(tmp_path, _project()) as ui:
        release = _seed(ui.database)
        ui.sign_in(ui.token("viewer"))
        with _counting(ui.database) as statements:
            page = ui.client.get("/ui/")
        fragment = ui.client.get("/ui/pipeline/sources")
        with ui_app(tmp_path / "none", load_project_text(PROJECT_YAML)) as plain:
            plain.sign_in(plain.token("viewer"))
            without = plain.client.get("/ui/")
    html = page.text
    assert page.status_code == 200
    checkout = html[html.index('id="source-checkout"') : html.index('id="source-payments"')]
    assert f"<code>{CHECKOUT}</code>" in checkout and "semver &gt;=1 &lt;2" in checkout
    assert "1.2.0" in checkout and "sha256:ab12cd34ef56…" in checkout
    assert 'class="badge source-healthy">healthy<' in checkout
    assert "2026-12-06 09:10:00 UTC" in checkout  # the next poll
    assert f'href="/ui/releases/{release.id}">{release.alias}</a>' in checkout
    payments = html[html.index('id="source-payments"') :]
    assert 'class="badge source-unhealthy">unhealthy<' in payments
    assert "the registry refused the credentials" in payments
    # A viewer may not refresh: the button is disabled with the reason.
    assert 'disabled aria-describedby="refresh-checkout-why"' in html
    why = html.split('id="refresh-checkout-why" class="why">')[1].split("</p>")[0]
    assert (
        why == "token &#39;viewer-user&#39; has role &#39;viewer&#39;; "
        "this call needs &#39;promoter&#39; or higher"
    )
    # The panel costs a fixed number of queries (states, release names).
    assert len(statements) <= 12, statements
    # A project without sources shows no panel.
    assert without.status_code == 200 and 'id="sources"' not in without.text
    # The panel redraws itself on audit events (a delivery, a release): the fragment alone.
    assert 'hx-get="/ui/pipeline/sources"' in html and "shiplane-audit from:body" in html
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith("<section")
    assert "<html" not in fragment.text
    assert 'id="source-payments"' in fragment.text and "the registry refused" in fragment.text


def test_refresh_needs_csrf_the_role_and_an_engine_and_changes_nothing_otherwise(
    tmp_path: Path,
) -> None:
    with ui_app(tmp_path, _project()) as ui:
        _seed(ui.database)
        ui.sign_in(ui.token("promoter"))
        csrf = ui.csrf()
        forged = ui.client.post("/ui/pipeline/sources/checkout/refresh", data={})
        no_engine = ui.client.post(
            "/ui/pipeline/sources/checkout/refresh", data={"csrf_token": csrf}
        )
        with ui.database.session() as s:
            state = store.get_state(s, "checkout")
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert no_engine.status_code == 409
    assert 'id="refresh-checkout-error" class="field-error" role="alert">' in no_engine.text
    assert "no GitOps repository" in no_engine.text
    assert state is not None and state.checked_at is not None
    assert state.checked_at.replace(tzinfo=UTC) == NOW  # not looked at again


def test_refresh_looks_now_and_flashes_what_it_found(tmp_path: Path) -> None:
    project = _project()
    with ui_app(tmp_path, project) as ui:
        _seed(ui.database)
        attach_engine(ui, project, tmp_path)
        ui.sign_in(ui.token("promoter"))
        csrf = ui.csrf()
        viewer = ui.token("viewer", name="vera")
        done = ui.client.post(
            "/ui/pipeline/sources/payments/refresh",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
        shown = ui.client.get(done.headers["location"])
        unknown = ui.client.post("/ui/pipeline/sources/nope/refresh", data={"csrf_token": csrf})
        ui.client.cookies.clear()  # signed out
        assert ui.sign_in(viewer).status_code == 303
        refused = ui.client.post(
            "/ui/pipeline/sources/payments/refresh", data={"csrf_token": ui.csrf()}
        )
        with ui.database.session() as s:
            state = store.get_state(s, "payments")
    assert done.status_code == 303
    assert done.headers["location"] == "/ui/?refreshed=payments#source-payments"
    assert 'id="sources-notice">Refreshed payments: unhealthy: cannot reach 127.0.0.1:1' in (
        shown.text
    )
    assert state is not None and state.checked_at is not None
    assert state.checked_at.replace(tzinfo=UTC) != NOW  # looked at just now
    assert unknown.status_code == 404 and "source &#39;nope&#39; is not defined" in unknown.text
    assert refused.status_code == 403 and 'id="refresh-payments-error"' in refused.text


def test_the_release_page_names_its_source_and_marks_tag_only_artifacts_unresolved(
    tmp_path: Path,
) -> None:
    with ui_app(tmp_path, _project()) as ui:
        assembled = _seed(ui.database)
        with ui.database.session() as s:
            by_hand, _ = releases.create_release(
                s,
                artifacts={"checkout": f"{CHECKOUT}:1.3.0", "payments": f"{PAYMENTS}@{DIGEST}"},
                alias="1.3.0",
                labels={},
                creator="ci",
            )
        ui.sign_in(ui.token("viewer"))
        from_source = ui.client.get(f"/ui/releases/{assembled.id}")
        from_ci = ui.client.get("/ui/releases/1.3.0")
    assert 'id="assembled-by"' in from_source.text
    assert 'Assembled by artifact source <a href="/ui/#source-checkout">checkout</a>' in (
        from_source.text
    )
    assert DIGEST in from_source.text and "unresolved" not in from_source.text
    assert 'id="assembled-by"' not in from_ci.text
    table = from_ci.text[from_ci.text.index('id="artifacts"') :]
    checkout_row = table[table.index(">checkout<") : table.index(">payments<")]
    assert '<span class="badge unresolved">unresolved</span>' in checkout_row
    assert "unresolved" not in table[table.index(">payments<") : table.index("</table>")]
    assert by_hand.alias == "1.3.0"
