"""A progressive strategy on the web: the view model (kind, step n/m, weight, pause,
analysis results, ended steps; `canary 25%` for the matrix and pipeline cells), the
promotion page's Strategy section, and Resume / Skip step as CSRF-protected POSTs that
run the engine's requests with the API's role check (promoter in the promotion's
environment; a viewer's buttons are disabled with the reason)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from shiplane.config.models.strategies import CanaryConfig
from shiplane.domain.promotion import Promotion, PromotionState, Step
from shiplane.domain.roles import Role
from shiplane.store import promotions as store
from shiplane.store import releases, tokens
from shiplane.web.strategy_view import strategy_notes, strategy_view
from tests.unit.web.test_promotion_actions import _attach_engine
from tests.unit.web.test_release_promotion_views import NOW, _person, _project
from tests.unit.web.uihelpers import UiUnderTest, ui_app

PID = "prm-canary"
STEPS = [{"setWeight": 25}, {"analysis": ["errors"]}, {"setWeight": 50}, {"pause": {}}]


def canary_data(step: int, weight: int, *, phase: str = "steps") -> dict[str, Any]:
    config = CanaryConfig.model_validate({"steps": STEPS}).model_dump(mode="json", by_alias=True)
    progress = {"step": step, "weight": weight, "stepStartedAt": NOW.isoformat()}
    measurement = {"time": NOW.isoformat(), "value": [25.0], "outcome": "passed", "detail": "ok"}
    analysis = {
        "1/errors": {
            "final": {
                "check": "errors",
                "kind": "prometheus",
                "outcome": "passed",
                "reason": "3 passed",
                "measurements": [measurement],
            }
        }
    }
    summary = f"canary {weight}% (step {step + 1}/4: pause until resumed)"
    entry = {
        "kind": "canary",
        "config": config,
        "summary": summary,
        "weight": weight,
        "state": {"progress": progress, "analysis": analysis},
    }
    return {"phase": phase, "summary": summary, "apps": {"checkout": entry}}


def seed(ui: UiUnderTest, step: int = 3, weight: int = 50) -> None:
    with ui.database.session() as s:
        release, _ = releases.create_release(
            s, artifacts={"checkout": "registry.example/shop/checkout:2.0"}, alias="v2",
            labels={}, creator="ci",
        )  # fmt: skip
        p = Promotion(
            id=PID,
            release_id=release.id,
            environment="qa",
            apps=("checkout",),
            requested_by="alice",
            created_at=NOW,
            state=PromotionState.DEPLOYING,
            reason="checkout: canary step 4/4: pause until resumed",
            updated_at=NOW,
        )
        store.insert_promotion(
            s, p, next_check_at=None, data={"strategy": canary_data(step, weight)}
        )
        later = NOW + timedelta(seconds=5)
        store.add_step(s, PID, Step("canary step 1/4: setWeight 25", NOW, later, "succeeded",
                                    "checkout-canary 1 beside 3 stable (25%)"))  # fmt: skip
        store.add_step(s, PID, Step("gates", NOW, NOW, "succeeded", "all passed"))


def record() -> Any:
    class Record:
        data: dict[str, Any] = {"strategy": canary_data(3, 50)}

    return Record()


def test_the_view_model_says_where_the_canary_stands() -> None:
    steps = [
        store.StepRecord(id=1, name="canary step 1/4: setWeight 25", started_at=NOW,
                         ended_at=NOW, outcome="succeeded", detail="1 beside 3", data={}),
        store.StepRecord(id=2, name="verify", started_at=NOW, ended_at=NOW,
                         outcome="succeeded", detail="", data={}),
        store.StepRecord(id=3, name="canary step 2/4: analysis errors", started_at=NOW,
                         ended_at=None, outcome="running", detail="", data={}),
    ]  # fmt: skip
    view = strategy_view(record(), steps)
    assert view is not None and view.steerable and view.phase == "steps"
    (app,) = view.apps
    assert (app.app, app.kind, app.step, app.total, app.weight) == ("checkout", "canary", 4, 4, 50)
    assert app.current == "pause until resumed" and app.pause == "until resumed"
    (analysis,) = app.analysis
    assert analysis.name == "errors (step 2)" and analysis.outcome == "passed"
    assert analysis.measurements[0].value == "[25.0]"
    assert [s.name for s in view.steps] == ["canary step 1/4: setWeight 25"]  # ended only


def test_a_timed_pause_says_until_when() -> None:
    rec = record()
    entry = rec.data["strategy"]["apps"]["checkout"]
    entry["config"]["steps"][3] = {"pause": "10m"}
    view = strategy_view(rec, [])
    assert view is not None
    assert view.apps[0].pause == "until 2026-12-06 09:10:00 UTC"


def test_cell_notes_are_the_status_words() -> None:
    assert strategy_notes(record()) == {"checkout": "canary 50%"}
    done = record()
    done.data["strategy"]["phase"] = "done"
    assert strategy_notes(done) == {}
    assert strategy_view(type("R", (), {"data": {}})(), []) is None  # rolling: no section


def test_the_promotion_page_shows_the_strategy_and_a_promoter_resumes(tmp_path: Path) -> None:
    project = _project()
    with ui_app(tmp_path, project) as ui:
        _attach_engine(ui, project, tmp_path)
        seed(ui)
        ui.sign_in(_person(ui, "paula", role="promoter"))
        url = f"/ui/promotions/{PID}"
        page = ui.client.get(url)
        matrix = ui.client.get("/ui/matrix")
        pipeline = ui.client.get("/ui/")  # the pipeline is the home page
        resumed = ui.client.post(
            f"{url}/resume", data={"csrf_token": ui.csrf()}, follow_redirects=False
        )
        after = ui.client.get(resumed.headers["location"])
        forged = ui.client.post(f"{url}/skip-step", data={"csrf_token": "forged"})
        with ui.database.session() as s:
            saved = store.get_promotion(s, PID)
            steps = [st.name for st in store.list_steps(s, PID)]
    assert page.status_code == 200
    text = page.text
    assert 'id="promotion-strategy"' in text and "canary 50% (step 4/4" in text
    assert "4/4: pause until resumed" in text and "until resumed" in text
    assert "Analysis of checkout: errors (step 2)" in text
    assert "checkout-canary 1 beside 3 stable (25%)" in text  # a finished step
    assert '<button type="submit">Resume</button>' in text
    assert '<button type="submit">Skip step</button>' in text
    assert 'class="strategy-note">canary 50%</span>' in matrix.text
    assert 'class="strategy-note">checkout canary 50%</span>' in pipeline.text
    assert resumed.status_code == 303
    assert resumed.headers["location"] == f"{url}?notice=resumed"
    assert "You resumed the strategy." in after.text
    assert saved is not None
    progress = saved.data["strategy"]["apps"]["checkout"]["state"]["progress"]
    assert progress["resume"] == 3  # the engine's request, as the API makes it
    assert "strategy resume" in steps
    assert forged.status_code == 403


def test_a_viewer_sees_disabled_buttons_and_is_refused(tmp_path: Path) -> None:
    project = _project()
    with ui_app(tmp_path, project) as ui:
        _attach_engine(ui, project, tmp_path)
        seed(ui)
        ui.sign_in(_person(ui, "vera", role="viewer"))
        url = f"/ui/promotions/{PID}"
        page = ui.client.get(url)
        refused = ui.client.post(f"{url}/skip-step", data={"csrf_token": ui.csrf()})
        with ui.database.session() as s:
            saved = store.get_promotion(s, PID)
    assert 'disabled aria-describedby="strategy-why">Skip step</button>' in page.text
    assert re.search(r'id="strategy-why" class="why">Not allowed: .*promoter', page.text)
    assert refused.status_code == 403 and 'id="skip-step-form-error"' in refused.text
    assert saved is not None
    assert "skip" not in saved.data["strategy"]["apps"]["checkout"]["state"]["progress"]


def test_what_the_strategy_refuses_comes_back_beside_the_button(tmp_path: Path) -> None:
    project = _project()
    with ui_app(tmp_path, project) as ui:
        _attach_engine(ui, project, tmp_path)
        seed(ui, step=0, weight=0)  # at setWeight 25: nothing to resume
        ui.sign_in(_person(ui, "paula", role="promoter"))
        refused = ui.client.post(f"/ui/promotions/{PID}/resume", data={"csrf_token": ui.csrf()})
    assert refused.status_code == 409
    assert re.search(
        r'id="resume-form-error" class="field-error">[^<]*the canary is not paused', refused.text
    )


def _promoter_in_staging_only(ui: UiUnderTest) -> str:
    """A token as single sign-on mints it: promoter in staging, viewer elsewhere."""
    with ui.database.session() as s:
        grant = tokens.SsoGrant(
            "https://idp#frank", (("*", Role.VIEWER), ("staging", Role.PROMOTER)),
            timedelta(hours=1),
        )  # fmt: skip
        _record, plaintext = tokens.create_token(
            s, name="frank", role=Role.PROMOTER, environments=(), created_by="sso", sso=grant
        )
    return plaintext


def test_roles_per_environment_decide_the_buttons(tmp_path: Path) -> None:
    project = _project()
    with ui_app(tmp_path, project) as ui:
        _attach_engine(ui, project, tmp_path)
        seed(ui)  # the canary moves checkout in qa, where frank is only a viewer
        ui.sign_in(_promoter_in_staging_only(ui))
        url = f"/ui/promotions/{PID}"
        page = ui.client.get(url)
        refused = ui.client.post(f"{url}/resume", data={"csrf_token": ui.csrf()})
    assert 'disabled aria-describedby="strategy-why">Resume</button>' in page.text
    assert "has role &#39;viewer&#39; in qa" in page.text or "has role 'viewer' in qa" in page.text
    assert refused.status_code == 403
