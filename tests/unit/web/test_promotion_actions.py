"""The promotion actions and the promote drawer in-process with an engine that is built
but never started: its requests write to the store as under `shiplane serve`, nothing
talks to a cluster (the drawer's diff says git failed; its gates are still answered).
The refusals are the engine's, beside the form; what it allows happens."""

from __future__ import annotations

import re
from pathlib import Path

from shiplane.config.models import ProjectConfig
from shiplane.engine.service import Engine, EngineSettings
from shiplane.store import promotion_controls
from shiplane.store import promotions as store
from tests.unit.web.test_release_promotion_views import _person, _project, _seed
from tests.unit.web.uihelpers import UiUnderTest, ui_app


def _attach_engine(ui: UiUnderTest, project: ProjectConfig, tmp_path: Path) -> None:
    settings = EngineSettings(
        repo_url=f"file://{tmp_path / 'no-repo.git'}", cache_dir=tmp_path / "git", git_poll=0
    )
    ui.client.app.state.shiplane.engine = Engine(ui.database, project, settings)  # type: ignore[attr-defined]


def _csrf(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', html)
    assert match is not None, html
    return match.group(1)


def test_the_requester_is_refused_by_the_engine_and_another_approver_approves(
    tmp_path: Path,
) -> None:
    project = _project()
    with ui_app(tmp_path, project) as ui:
        _attach_engine(ui, project, tmp_path)
        _seed(ui)
        url = "/ui/promotions/prm-qa-waiting"
        ui.sign_in(_person(ui, "alice"))
        # The button is disabled; a hand-made POST gets the same words from the engine.
        forced = ui.client.post(f"{url}/approve", data={"csrf_token": ui.csrf()})
        ui.client.cookies.clear()
        ui.sign_in(_person(ui, "bob"))
        approved = ui.client.post(
            f"{url}/approve",
            data={"csrf_token": ui.csrf(), "comment": "looks good"},
            follow_redirects=False,
        )
        after = ui.client.get(approved.headers["location"])
        with ui.database.session() as s:
            record = store.get_promotion(s, "prm-qa-waiting")
            assert record is not None
            approvals = promotion_controls.approvals_for(s, record.release_id, "qa")
    assert forced.status_code == 403
    assert re.search(r'class="field-error">alice requested this promotion and cannot', forced.text)
    assert approved.status_code == 303
    assert approved.headers["location"] == f"{url}?notice=approved"
    assert "You approved this promotion." in after.text
    assert [(a.user, a.decision, a.comment) for a in approvals] == [
        ("bob", "approve", "looks good")
    ]


def test_reject_with_a_reason_records_the_decision(tmp_path: Path) -> None:
    project = _project()
    with ui_app(tmp_path, project) as ui:
        _attach_engine(ui, project, tmp_path)
        _seed(ui)
        ui.sign_in(_person(ui, "bob"))
        url = "/ui/promotions/prm-qa-waiting"
        rejected = ui.client.post(
            f"{url}/reject", data={"csrf_token": ui.csrf(), "reason": "not this week"}
        )
        with ui.database.session() as s:
            record = store.get_promotion(s, "prm-qa-waiting")
            assert record is not None
            decisions = promotion_controls.approvals_for(s, record.release_id, "qa")
    assert rejected.status_code == 200 and "You rejected this promotion." in rejected.text
    # The decision is recorded; the engine's next gate evaluation ends the promotion.
    assert [(d.user, d.decision, d.comment) for d in decisions] == [
        ("bob", "reject", "not this week")
    ]


def test_the_drawer_previews_with_the_engine_and_confirm_creates_the_promotion(
    tmp_path: Path,
) -> None:
    project = _project()
    with ui_app(tmp_path, project) as ui:
        _attach_engine(ui, project, tmp_path)
        _seed(ui)
        ui.sign_in(_person(ui, "alice"))
        drawer = ui.client.get("/ui/promote?release=v3&environment=qa")
        unknown = ui.client.get("/ui/promote?release=v9&environment=qa")
        confirmed = ui.client.post(
            "/ui/promote",
            data={
                "csrf_token": _csrf(drawer.text),
                "release": "v3",
                "environment": "qa",
                "reason": "weekly",
            },
            follow_redirects=False,
        )
        with ui.database.session() as s:
            made = store.list_promotions(s, environment="qa").items
    html = drawer.text
    assert 'id="drawer-gates"' in html and "approval" in html
    assert "You cannot approve it yourself: alice requested this promotion" in html
    assert 'id="drawer-diff-error"' in html  # no git here: said, the gates still shown
    assert re.search(r'<button type="submit">Confirm promotion</button>', html)
    assert 'id="drawer-release-error"' in unknown.text and "no release matches" in unknown.text
    assert confirmed.status_code == 303
    new = [p for p in made if p.id != "prm-qa-waiting"]
    assert len(new) == 1 and new[0].requested_by == "alice"
    assert confirmed.headers["location"] == f"/ui/promotions/{new[0].id}"
