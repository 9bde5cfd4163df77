"""The release, promote drawer and promotion views in-process over a real SQLite store:
what they show, the engine's reasons on disabled buttons, CSRF and bad input changing
nothing, and a fixed number of queries per page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shiplane.config import load_project_text
from shiplane.config.models import ProjectConfig
from shiplane.domain.promotion import Promotion, PromotionState, Step
from shiplane.domain.promotion_controls import Hold
from shiplane.store import matrix, promotion_controls, releases, tokens
from shiplane.store import promotions as store
from tests.support.api_project import PROJECT_YAML
from tests.unit.web.test_views import _counting
from tests.unit.web.uihelpers import UiUnderTest, ui_app

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
DIGEST = "sha256:" + "d" * 64
APPROVALS = """\
  qa: {cluster: local, namespace: qa, after: [dev],
       approvals: {required: 1, groups: [release-managers], expiry: 2h}}
"""


def _project() -> ProjectConfig:
    return load_project_text(PROJECT_YAML.replace("apps:\n", APPROVALS + "apps:\n", 1))


def _person(ui: UiUnderTest, name: str, role: str = "approver") -> str:
    with ui.database.session() as s:
        _record, plaintext = tokens.create_token(
            s,
            name=name,
            role=role,
            environments=(),
            created_by="test",
            groups=("release-managers",),
        )
    return plaintext


def _seed(ui: UiUnderTest) -> tuple[str, str, str]:
    """Release v2 (checkout by digest) runs in dev; a promotion of it to qa waits for an
    approval, requested by alice; release v3 differs in checkout and adds payments."""
    with ui.database.session() as s:
        v2, _ = releases.create_release(
            s,
            artifacts={"checkout": f"registry.example/shop/checkout@{DIGEST}"},
            alias="v2",
            labels={"team": "shop"},
            creator="ci",
        )
        releases.create_release(
            s,
            artifacts={
                "checkout": "registry.example/shop/checkout:3.0",
                "payments": "registry.example/shop/payments:1.0",
            },
            alias="v3",
            labels={},
            creator="ci",
        )
        matrix.record_deployment(
            s,
            environment="dev",
            app="checkout",
            release_id=v2.id,
            sync_status="Synced",
            health="Healthy",
        )
        p = Promotion(
            id="prm-qa-waiting",
            release_id=v2.id,
            environment="qa",
            apps=("checkout",),
            requested_by="alice",
            created_at=NOW,
            state=PromotionState.WAITING,
            reason="approval: waiting for 1 approval",
            updated_at=NOW,
        )
        gates = [
            {
                "gate": "approval",
                "outcome": "wait",
                "reason": "waiting for 1 more approval from group release-managers",
                "inputs": {},
                "next_check_at": None,
                "unblock_hint": "shiplane approve prm-qa-waiting",
            }
        ]
        store.insert_promotion(s, p, next_check_at=None, data={"gates": gates})
        store.add_step(s, p.id, Step("-> Waiting", NOW, NOW, "succeeded", "queue is free"))
        store.add_step(s, p.id, Step("gates", NOW, NOW, "succeeded", "approval: waiting"))
    return v2.id, p.id, "v3"


def _verified(ui: UiUnderTest, release_id: str) -> str:
    """A promotion to dev that ran its checks: Prometheus values, a Job, an HTTP probe."""
    later = NOW + timedelta(minutes=5)
    prom = {
        "check": "errors",
        "kind": "prometheus",
        "outcome": "failed",
        "reason": "error rate 0.4 > 0.05",
        "measurements": [
            {"time": (NOW + timedelta(seconds=i * 10)).isoformat(), "value": v, "outcome": o}
            for i, (v, o) in enumerate([(0.01, "passed"), (0.02, "passed"), (0.4, "failed")])
        ],
        "logs": None,
    }
    job = {
        "check": "smoke",
        "kind": "job",
        "outcome": "passed",
        "reason": "job succeeded",
        "measurements": [],
        "logs": "GET /health 200\nall good\n",
    }
    http = {
        "check": "ping",
        "kind": "http",
        "outcome": "passed",
        "reason": "200",
        "measurements": [
            {
                "time": NOW.isoformat(),
                "value": {"attempt": 1, "url": "http://checkout/health", "status": 200},
                "outcome": "passed",
                "detail": "status 200",
            }
        ],
    }
    with ui.database.session() as s:
        p = Promotion(
            id="prm-dev-failed",
            release_id=release_id,
            environment="dev",
            apps=("checkout",),
            requested_by="shiplane",
            created_at=NOW,
            state=PromotionState.FAILED,
            reason="verification failed: error rate 0.4 > 0.05",
            updated_at=later,
        )
        store.insert_promotion(s, p, next_check_at=None, data={})
        for name, result in (("errors", prom), ("smoke", job), ("ping", http)):
            outcome = "succeeded" if result["outcome"] == "passed" else "failed"
            step = Step(f"check {name}", later, later, outcome, "", {"result": result})
            store.add_step(s, p.id, step)
        store.add_step(s, p.id, Step("-> Failed", later, later, "succeeded", "verification failed"))
        rollback = Promotion(
            id="prm-dev-rollback",
            release_id=release_id,
            environment="dev",
            apps=("checkout",),
            requested_by="shiplane",
            created_at=later,
            state=PromotionState.SUCCEEDED,
            updated_at=later,
            kind="rollback",
            trigger="auto",
            rollback_of=p.id,
        )
        store.insert_promotion(s, rollback, next_check_at=None, data={})
        promotion_controls.set_hold(
            s, Hold("dev", "checkout", "shiplane", later, f"rolled back by {p.id}")
        )
    return p.id


def _more_promotions(ui: UiUnderTest, release_id: str, n: int) -> None:
    with ui.database.session() as s:
        for i in range(n):
            p = Promotion(
                id=f"prm-more-{i:02d}",
                release_id=release_id,
                environment="staging",
                apps=("checkout",),
                requested_by="ci",
                created_at=NOW + timedelta(minutes=i),
                state=PromotionState.SUCCEEDED,
                updated_at=NOW + timedelta(minutes=i),
            )
            store.insert_promotion(s, p, next_check_at=None, data={})
            store.add_step(s, p.id, Step("-> Succeeded", NOW, NOW, "succeeded", "verified"))


def test_the_release_page_shows_artifacts_where_it_runs_and_its_timeline(
    tmp_path: Path,
) -> None:
    with ui_app(tmp_path, _project()) as ui:
        release_id, pid, _ = _seed(ui)
        ui.sign_in(ui.token())
        listing = ui.client.get("/ui/releases")
        with _counting(ui.database) as statements:
            page = ui.client.get("/ui/releases/v2")
        _more_promotions(ui, release_id, 10)
        with _counting(ui.database) as more:
            busier = ui.client.get("/ui/releases/v2")
        missing = ui.client.get("/ui/releases/nope")
    assert listing.status_code == 200 and "v2" in listing.text and "v3" in listing.text
    assert listing.text.index(">v3<") < listing.text.index(">v2<")  # newest first
    html = page.text
    assert page.status_code == 200
    assert DIGEST in html and "registry.example/shop/checkout" in html
    assert "<strong>dev</strong>/checkout" in html and "Healthy" in html
    assert f'href="/ui/promotions/{pid}"' in html and "<strong>Waiting</strong>" in html
    assert "requested by alice" in html
    assert 'hx-target="#drawer"' in html and f'name="release" value="{release_id}"' in html
    # Session, release, its promotions, their steps, where it runs: no query per promotion.
    assert busier.text.count("prm-more-") >= 10
    assert len(more) == len(statements) <= 12, statements
    assert missing.status_code == 404 and "no release matches" in missing.text


def test_a_release_diff_shows_artifact_changes_and_explains_bad_input(tmp_path: Path) -> None:
    with ui_app(tmp_path, _project()) as ui:
        _seed(ui)
        ui.sign_in(ui.token())
        diff = ui.client.get("/ui/releases/v2?against=v3")
        bad = ui.client.get("/ui/releases/v2?against=v9&environment=prd")
        manifests = ui.client.get("/ui/releases/v2?against=v3&environment=dev")
    rows = re.findall(r'<th scope="row">(\w+)</th><td><span class="badge change-(\w+)"', diff.text)
    assert rows == [("checkout", "changed"), ("payments", "added")]
    assert "registry.example/shop/payments:1.0" in diff.text
    assert 'id="diff-against-error"' in bad.text and "no release matches &#39;v9&#39;" in bad.text
    assert 'id="diff-environment-error"' in bad.text
    assert "unknown environment &#39;prd&#39;" in bad.text
    assert bad.status_code == 200 and 'id="artifacts"' in bad.text  # the rest still works
    # Manifests need the GitOps repository: said, while the artifacts are still shown.
    assert 'id="manifest-diff-error"' in manifests.text
    assert "no GitOps repository" in manifests.text and "change-changed" in manifests.text


def test_release_list_pages_by_cursor(tmp_path: Path) -> None:
    with ui_app(tmp_path, _project()) as ui:
        with ui.database.session() as s:
            for i in range(55):
                releases.create_release(
                    s,
                    artifacts={"checkout": f"registry.example/shop/checkout:1.{i}"},
                    alias=f"r{i:02d}",
                    labels={},
                    creator="ci",
                    now=lambda i=i: NOW + timedelta(seconds=i),
                )
        ui.sign_in(ui.token())
        first = ui.client.get("/ui/releases")
        older = re.search(r'href="(/ui/releases\?cursor=[^"]+)" rel="next"', first.text)
        assert older is not None
        second = ui.client.get(older.group(1).replace("&amp;", "&"))
        bad = ui.client.get("/ui/releases?cursor=garbage")
    assert first.text.count('<th scope="row">') == 50 and ">r54<" in first.text
    assert second.text.count('<th scope="row">') == 5 and ">r00<" in second.text
    assert 'rel="next"' not in second.text
    assert bad.status_code == 200 and "cursor:" in bad.text


def test_the_requester_sees_approve_disabled_with_the_separation_of_duties_reason(
    tmp_path: Path,
) -> None:
    with ui_app(tmp_path, _project()) as ui:
        _seed(ui)
        alice, bob = _person(ui, "alice"), _person(ui, "bob")
        ui.sign_in(alice)
        mine = ui.client.get("/ui/promotions/prm-qa-waiting").text
        ui.client.cookies.clear()  # another person at another browser
        ui.sign_in(bob)
        bobs = ui.client.get("/ui/promotions/prm-qa-waiting").text
        ui.client.cookies.clear()
        ui.sign_in(ui.token("viewer"))
        viewer = ui.client.get("/ui/promotions/prm-qa-waiting").text
    approve = re.search(r'<button type="submit"([^>]*)>Approve</button>', mine)
    assert approve is not None and 'disabled aria-describedby="approve-why"' in approve.group(1)
    assert re.search(
        r'id="approve-why" class="why">Not allowed: alice requested this promotion and cannot '
        r"approve it",
        mine,
    )
    bob_approve = re.search(r'<button type="submit"([^>]*)>Approve</button>', bobs)
    assert bob_approve is not None and "disabled" not in bob_approve.group(1)
    assert "only a failed, aborted, rolled back or superseded promotion" in bobs  # retry
    assert "token &#39;viewer-user&#39; has role &#39;viewer&#39;" in viewer
    # The gates' last evaluation and the live hook of a running promotion.
    assert "waiting for 1 more approval from group release-managers" in mine
    assert 'hx-trigger="shiplane-env-qa from:body' in mine


def test_a_failed_promotion_shows_its_checks_a_chart_logs_and_http_responses(
    tmp_path: Path,
) -> None:
    with ui_app(tmp_path, _project()) as ui:
        release_id, _, _ = _seed(ui)
        pid = _verified(ui, release_id)
        ui.sign_in(ui.token("admin"))
        page = ui.client.get(f"/ui/promotions/{pid}")
        fragment = ui.client.get(f"/ui/promotions/{pid}", headers={"HX-Request": "true"})
    html = page.text
    assert "verification failed: error rate 0.4 &gt; 0.05" in html
    assert '<svg class="chart"' in html and 'role="img"' in html
    assert "3 measurements from 0.01 to 0.4, last 0.4" in html
    assert "chart-failed" in html
    assert "GET /health 200" in html and "Job logs" in html
    assert "status: 200; url: http://checkout/health" in html
    assert "<strong>Failed</strong>" in html
    assert 'href="/ui/promotions/prm-dev-rollback">prm-dev-rollback</a> (by shiplane' in html
    assert re.search(r'id="promotion-holds"><strong>checkout</strong> in dev: rolled back by', html)
    assert "hx-trigger" not in html.split('id="promotion"')[1][:20]  # finished: not live
    assert fragment.text.startswith('<div id="promotion"') and "<html" not in fragment.text


def test_the_promotion_list_filters_by_state(tmp_path: Path) -> None:
    with ui_app(tmp_path, _project()) as ui:
        release_id, _, _ = _seed(ui)
        _verified(ui, release_id)
        ui.sign_in(ui.token())
        everything = ui.client.get("/ui/promotions").text
        failed = ui.client.get("/ui/promotions?state=failed").text
        bad = ui.client.get("/ui/promotions?state=stuck")
    assert "prm-qa-waiting" in everything and "prm-dev-failed" in everything
    assert "prm-dev-failed" in failed and "prm-qa-waiting" not in failed
    assert bad.status_code == 200 and 'id="filter-state-error"' in bad.text
    assert "unknown state &#39;stuck&#39;" in bad.text


def test_actions_need_csrf_validate_like_the_api_and_change_nothing(tmp_path: Path) -> None:
    with ui_app(tmp_path, _project()) as ui:
        _seed(ui)
        ui.sign_in(_person(ui, "bob"))
        csrf = ui.csrf()
        url = "/ui/promotions/prm-qa-waiting"
        forged = ui.client.post(f"{url}/approve", data={"comment": "x"})
        empty = ui.client.post(f"{url}/reject", data={"csrf_token": csrf, "reason": ""})
        no_engine = ui.client.post(f"{url}/approve", data={"csrf_token": csrf})
        unknown = ui.client.post(f"{url}/launch", data={"csrf_token": csrf})
        with ui.database.session() as s:
            record = store.get_promotion(s, "prm-qa-waiting")
            approvals = promotion_controls.approvals_for(
                s, record.release_id if record else "", "qa"
            )
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert empty.status_code == 422
    assert re.search(
        r'id="reject-reason-error" class="field-error">body.reason: String should', empty.text
    )
    assert 'aria-invalid="true" aria-describedby="reject-reason-error"' in empty.text
    assert no_engine.status_code == 409 and "no GitOps repository" in no_engine.text
    assert unknown.status_code == 404
    assert record is not None and record.state == "Waiting" and approvals == []


def test_the_promote_drawer_without_an_engine_disables_confirm_with_the_reason(
    tmp_path: Path,
) -> None:
    with ui_app(tmp_path, _project()) as ui:
        _seed(ui)
        ui.sign_in(ui.token("admin"))
        csrf = ui.csrf()
        drawer = ui.client.get(
            "/ui/promote?release=v3&environment=qa", headers={"HX-Request": "true"}
        )
        page = ui.client.get("/ui/promote?release=v3&environment=qa")
        typo = ui.client.post(
            "/ui/promote", data={"csrf_token": csrf, "release": "v3", "environment": ""}
        )
        forged = ui.client.post("/ui/promote", data={"release": "v3", "environment": "qa"})
        with ui.database.session() as s:
            count = len(store.list_promotions(s).items)
    assert drawer.text.startswith("<section") and "no GitOps repository" in drawer.text
    assert re.search(r'<button type="submit" disabled aria-describedby="confirm-why">', drawer.text)
    assert page.status_code == 200 and "<html" in page.text
    assert typo.status_code == 422 and 'id="drawer-environment-error"' in typo.text
    assert "environment: String should have at least 1 character" in typo.text
    assert forged.status_code == 403
    assert count == 1  # only the seeded one


def test_a_promotion_page_reads_a_fixed_number_of_queries_whatever_its_steps(
    tmp_path: Path,
) -> None:
    with ui_app(tmp_path, _project()) as ui:
        release_id, _, _ = _seed(ui)
        pid = _verified(ui, release_id)
        ui.sign_in(ui.token("admin"))
        with _counting(ui.database) as few:
            ui.client.get(f"/ui/promotions/{pid}")
        with ui.database.session() as s:
            for i in range(30):
                at = NOW + timedelta(seconds=i)
                store.add_step(s, pid, Step("gates", at, at, "succeeded", f"round {i}"))
        with _counting(ui.database) as many:
            page = ui.client.get(f"/ui/promotions/{pid}")
    assert "round 29" in page.text
    assert len(many) == len(few), many
