"""The Environments pages in process: freezes, holds, windows and drift shown; freeze,
unfreeze, hold and lift through the API's own functions, with its role checks and
words; bad input explained beside the field, changing nothing."""

from __future__ import annotations

from pathlib import Path

from shiplane.store import matrix, promotion_controls
from shiplane.store.deploys import update_deployment
from tests.unit.api.apphelpers import project
from tests.unit.web.uihelpers import attach_engine, csrf_of, ui_app

WINDOWS = """\
windows:
  business-hours:
    allow: [{days: [Mon, Tue, Wed, Thu, Fri], from: "09:00", to: "17:00"}]
    timezone: Europe/Berlin
"""


def _project():  # type: ignore[no-untyped-def]
    config = project(WINDOWS)
    text_env = config.environments["prod"].model_copy(update={"windows": ("business-hours",)})
    return config.model_copy(update={"environments": {**config.environments, "prod": text_env}})


def test_freeze_and_hold_through_the_api_functions(tmp_path: Path) -> None:
    config = project()
    with ui_app(tmp_path, config) as ui:
        attach_engine(ui, config, tmp_path)
        ui.sign_in(ui.token("approver", name="olga"))
        page = ui.client.get("/ui/environments/prod")
        token = csrf_of(page.text)
        # No reason: the API's words beside the field, nothing frozen.
        empty = ui.client.post(
            "/ui/environments/prod/freeze", data={"csrf_token": token, "reason": ""}
        )
        with ui.database.session() as s:
            assert promotion_controls.list_freezes(s) == []
        frozen = ui.client.post(
            "/ui/environments/prod/freeze",
            data={"csrf_token": token, "reason": "year-end"},
            follow_redirects=False,
        )
        project_wide = ui.client.post(
            "/ui/environments/-/freeze",
            data={"csrf_token": token, "reason": "incident 7"},
            follow_redirects=False,
        )
        listing = ui.client.get("/ui/environments")
        held = ui.client.post(
            "/ui/environments/staging/holds",
            data={"csrf_token": token, "app": "payments", "reason": "investigating"},
            follow_redirects=False,
        )
        no_app = ui.client.post(
            "/ui/environments/staging/holds", data={"csrf_token": token, "app": ""}
        )
        detail = ui.client.get("/ui/environments/staging")
        lifted = ui.client.post(
            "/ui/environments/staging/holds/payments/lift",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        unfrozen = ui.client.post(
            "/ui/environments/prod/freeze/lift", data={"csrf_token": token}, follow_redirects=False
        )
        no_csrf = ui.client.post("/ui/environments/-/freeze/lift", data={"reason": "x"})
        with ui.database.session() as s:
            freezes = [(f.environment, f.reason) for f in promotion_controls.list_freezes(s)]
            holds = promotion_controls.list_holds(s)
    assert empty.status_code == 422
    assert 'id="freeze-reason-error"' in empty.text
    assert "body.reason: String should have at least 1 character" in empty.text
    assert frozen.status_code == 303 and frozen.headers["location"].endswith("/prod?done=frozen")
    assert project_wide.status_code == 303
    assert "incident 7" in listing.text and "year-end" in listing.text
    assert held.status_code == 303
    assert no_app.status_code == 422 and 'id="hold-app-error"' in no_app.text
    assert "investigating" in detail.text and "Lift the hold of payments" in detail.text
    assert lifted.status_code == 303 and unfrozen.status_code == 303
    assert no_csrf.status_code == 403
    assert freezes == [(None, "incident 7")] and holds == []


def test_roles_are_the_apis(tmp_path: Path) -> None:
    config = project()
    with ui_app(tmp_path, config) as ui:
        attach_engine(ui, config, tmp_path)
        ui.sign_in(ui.token("promoter", name="pete"))
        token = csrf_of(ui.client.get("/ui/environments/prod").text)
        refused = ui.client.post(
            "/ui/environments/prod/freeze", data={"csrf_token": token, "reason": "mine"}
        )
        held = ui.client.post(
            "/ui/environments/prod/holds",
            data={"csrf_token": token, "app": "checkout"},
            follow_redirects=False,
        )
        with ui.database.session() as s:
            freezes = promotion_controls.list_freezes(s)
    assert refused.status_code == 403
    assert "token &#39;pete&#39; has role &#39;promoter&#39;" in refused.text
    assert 'id="freeze-error"' in refused.text
    assert held.status_code == 303 and freezes == []


def test_without_an_engine_an_action_says_why(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        ui.sign_in(ui.token("admin"))
        token = csrf_of(ui.client.get("/ui/environments/prod").text)
        answer = ui.client.post(
            "/ui/environments/prod/freeze", data={"csrf_token": token, "reason": "x"}
        )
    assert answer.status_code == 409 and "no GitOps repository" in answer.text


def test_windows_and_drift_with_secrets_masked(tmp_path: Path) -> None:
    config = _project()
    with ui_app(tmp_path, config) as ui:
        with ui.database.session() as s:
            matrix.record_deployment(
                s, environment="prod", app="checkout", release_id=None, sync_status="Synced"
            )
            update_deployment(
                s,
                environment="prod",
                app="payments",
                sync_status="OutOfSync",
                sync_detail=[
                    {
                        "ref": {"kind": "Deployment", "namespace": "prod", "name": "payments"},
                        "path": "spec.replicas",
                        "desired": 3,
                        "live": 5,
                        "managers": ["kubectl-edit"],
                        "object": "apps/v1/Deployment prod/payments",
                    },
                    {
                        "ref": {"kind": "Secret", "namespace": "prod", "name": "db"},
                        "path": "data.password",
                        "desired": "c2VjcmV0",
                        "live": "b3RoZXI=",
                        "managers": [],
                    },
                    {
                        "ref": {"kind": "Deployment", "namespace": "prod", "name": "payments"},
                        "path": "spec.template.spec.containers[name=app].env[name=API_TOKEN].value",
                        "desired": "plain-token-value",
                        "live": None,
                        "managers": [],
                    },
                ],
            )
        ui.sign_in(ui.token())
        page = ui.client.get("/ui/environments/prod")
        listing = ui.client.get("/ui/environments")
        unknown = ui.client.get("/ui/environments/nope")
    html = page.text
    assert page.status_code == 200
    assert "business-hours" in html and "Mon-Fri 09:00-17:00 Europe/Berlin" in html
    assert ("next opening" in html) or ("closes" in html)
    assert "spec.replicas" in html and "kubectl-edit" in html
    assert "c2VjcmV0" not in html and "b3RoZXI=" not in html and "plain-token-value" not in html
    assert html.count("***") >= 3
    assert "1 not in sync" in html
    assert 'id="row-prod"' in listing.text and "1 out of sync" in listing.text
    # Live: the table and the drift refresh themselves on audit events.
    assert 'hx-select="#environments-table"' in listing.text
    assert 'hx-trigger="shiplane-env-prod from:body' in html and 'hx-select="#drift"' in html
    assert unknown.status_code == 404
