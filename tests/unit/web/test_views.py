"""The pipeline and matrix pages over the store's read models: what they show, their
live-update hooks, filters and paging, and a fixed number of queries at 1,000 apps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event

from shiplane.config import load_project_text
from shiplane.domain.promotion_controls import Freeze
from shiplane.store import matrix, promotion_controls, releases
from shiplane.store.db import Database
from shiplane.web.assets import AssetManifest
from shiplane.web.templating import make_web_context
from tests.support.web_seed import seed_shop
from tests.unit.api.apphelpers import project
from tests.unit.web.uihelpers import ui_app

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _seed(database: Database) -> str:
    """checkout runs in dev and staging; payments is degraded in dev; prod waits."""
    with database.session() as s:
        return seed_shop(s, now=NOW, promotion_id="prm-waiting1", digest="a" * 64, freeze_prod=True)


def test_the_pipeline_shows_releases_health_waiting_holds_and_freezes(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        _seed(ui.database)
        ui.sign_in(ui.token())
        page = ui.client.get("/ui/")
        node = ui.client.get("/ui/pipeline/environments/prod")
        unknown = ui.client.get("/ui/pipeline/environments/nope")
    html = page.text
    assert page.status_code == 200
    # Environments in graph order, one node each, refreshing on their own events.
    assert html.index('id="env-dev"') < html.index('id="env-staging"') < html.index('id="env-prod"')
    assert 'hx-trigger="shiplane-env-prod from:body' in html
    assert 'data-live-events="/ui/events"' in html
    assert "v1.4.0" in html and "Degraded" in html and "OutOfSync" in html
    assert "waiting for 1 more approval from release-managers" in html
    assert "rolled back" in html and "year-end freeze" in html
    # The fragment is the node alone (no page around it) with the same facts.
    assert node.text.lstrip().startswith("<article") and "<html" not in node.text
    assert "year-end freeze" in node.text and "Waiting" in node.text
    assert unknown.status_code == 404 and "no environment named &#39;nope&#39;" in unknown.text


def test_the_pipeline_draws_the_graph_above_the_nodes_and_redraws_it_live(
    tmp_path: Path,
) -> None:
    with ui_app(tmp_path, project()) as ui:
        _seed(ui.database)
        ui.sign_in(ui.token())
        html = ui.client.get("/ui/").text
        graph = ui.client.get("/ui/pipeline/graph")
    # One laid-out drawing (domain/graph_layout.py), each box linking to its node below;
    # ids do not clash with the nodes'.
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="env-graph"') == 1
    assert html.index("env-graph") < html.index('id="env-dev"')
    for env in ("dev", "staging", "prod"):
        assert f'id="graph-env-{env}"' in html and f'href="#env-{env}"' in html
    assert 'class="env frozen"' in html  # prod is frozen
    assert 'hx-get="/ui/pipeline/graph"' in html
    assert (
        graph.status_code == 200
        and graph.text.startswith("<svg")
        and "graph-env-prod" in graph.text
    )


def test_above_fifty_environments_the_pipeline_lists_without_a_drawing(tmp_path: Path) -> None:
    after = {i: f", after: [e{i - 1}]" if i else "" for i in range(51)}
    envs = "\n".join(f"  e{i}: {{cluster: local, namespace: e{i}{after[i]}}}" for i in range(51))
    text = f"""apiVersion: shiplane/v1alpha1
project: wide
clusters:
  local: {{kubeconfig: /nonexistent}}
environments:
{envs}
apps:
  web:
    images: [registry.example/web]
    manifests: {{path: apps/web}}
"""
    with ui_app(tmp_path, load_project_text(text)) as ui:
        ui.sign_in(ui.token())
        html = ui.client.get("/ui/").text
    assert "env-graph" not in html and html.count('class="env-node"') == 51


def test_the_matrix_filters_pages_and_marks_pending_and_held_cells(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        release_id = _seed(ui.database)
        ui.sign_in(ui.token())
        full = ui.client.get("/ui/matrix")
        failing = ui.client.get("/ui/matrix?failing=1")
        prod = ui.client.get("/ui/matrix?environment=prod")
        table = ui.client.get(
            "/ui/matrix?app=check",
            headers={"HX-Request": "true", "HX-Target": "matrix-table"},
        )
        bad = ui.client.get("/ui/matrix?environment=prd&size=7")
    assert full.status_code == 200 and "2 apps" in full.text
    assert "v1.4.0" in full.text and "held" in full.text
    assert '<th scope="row">payments</th>' in failing.text
    assert '<th scope="row">checkout</th>' not in failing.text
    assert '<th scope="col">prod</th>' in prod.text and '<th scope="col">dev</th>' not in prod.text
    assert "Pending: v1.4.0" in prod.text and "release-managers" in prod.text
    assert release_id not in prod.text.split("<tbody>")[1]
    assert table.text.startswith('<div id="matrix-table"') and "<form" not in table.text
    assert "1 app" in table.text and "payments" not in table.text
    assert bad.status_code == 200
    assert 'id="filter-environment-error"' in bad.text
    assert "unknown environment &#39;prd&#39;" in bad.text
    assert 'id="filter-size-error"' in bad.text


def _big_project(apps: int) -> str:
    lines = [
        "apiVersion: shiplane/v1alpha1",
        "project: big",
        "clusters:",
        "  local: {inCluster: true}",
        "environments:",
        "  dev: {cluster: local, namespace: dev}",
        "  qa: {cluster: local, namespace: qa, after: [dev]}",
        "  perf: {cluster: local, namespace: perf, after: [dev]}",
        "  staging: {cluster: local, namespace: stg, after: [qa, perf]}",
        "  prod: {cluster: local, namespace: prod, after: [staging]}",
        "apps:",
    ]
    for i in range(apps):
        lines.append(
            f"  app{i:04d}: {{images: [registry.example/app{i:04d}], manifests: {{path: a}}}}"
        )
    return "\n".join(lines) + "\n"


@contextmanager
def _counting(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def test_a_thousand_apps_by_five_environments_take_a_fixed_number_of_queries(
    tmp_path: Path,
) -> None:
    config = load_project_text(_big_project(1000))
    with ui_app(tmp_path, config) as ui:
        with ui.database.session() as s:
            release, _ = releases.create_release(
                s,
                artifacts={"app0000": "registry.example/app0000@sha256:" + "b" * 64},
                alias=None,
                labels={},
                creator="ci",
            )
            for i in range(1000):
                for env in ("dev", "qa", "perf", "staging", "prod"):
                    matrix.record_deployment(
                        s,
                        environment=env,
                        app=f"app{i:04d}",
                        release_id=release.id,
                        sync_status="OutOfSync" if i % 100 == 7 else "Synced",
                        health="Healthy",
                    )
        ui.sign_in(ui.token())
        with _counting(ui.database) as first_page:
            page = ui.client.get("/ui/matrix")
        with _counting(ui.database) as filtered:
            drift = ui.client.get("/ui/matrix?out_of_sync=1&size=25&page=1")
        with _counting(ui.database) as pipeline:
            home = ui.client.get("/ui/")
    assert "1000 apps, page 1 of 20" in page.text
    assert page.text.count('<th scope="row">') == 50
    assert "10 apps" in drift.text and "app0007" in drift.text
    assert home.text.count('class="env-node"') == 5
    assert "988 more apps in the matrix" in home.text or "more apps in the matrix" in home.text
    # Session lookup + cells + open promotions + holds (+ freezes on the pipeline): the
    # count does not grow with the number of apps.
    for statements in (first_page, filtered, pipeline):
        assert len(statements) <= 10, statements


def test_a_project_wide_freeze_shows_on_every_environment(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        with ui.database.session() as s:
            promotion_controls.set_freeze(s, Freeze("project", None, "incident 42", "olga", NOW))
        ui.sign_in(ui.token())
        page = ui.client.get("/ui/")
    assert page.text.count("(whole project)") == 3 and page.text.count("incident 42") == 3


def test_pages_render_without_the_npm_assets(tmp_path: Path) -> None:
    """Before `make assets` (no static/vendor/), pages still work, without htmx."""
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "app.css").write_text("body {}")
    (tmp_path / "static" / "app.js").write_text("// app")
    with ui_app(tmp_path, project()) as ui:
        app = ui.client.app
        app.state.shiplane_web = make_web_context(AssetManifest(tmp_path / "static"))  # type: ignore[attr-defined]
        ui.sign_in(ui.token())
        page = ui.client.get("/ui/matrix")
    assert page.status_code == 200 and "2 apps" in page.text
    assert "htmx.min.js" not in page.text and "/app.js" in page.text
