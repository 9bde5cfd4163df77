"""The approvals inbox in process: what waits for the signed-in user, with expiry;
approve and reject through the API's own requests; a button disabled with the engine's
reason; bad input beside the field, changing nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from shiplane.config import load_project_text
from shiplane.config.models import ProjectConfig
from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.domain.promotion_ids import new_promotion_id
from shiplane.store import promotion_controls, releases, tokens
from shiplane.store import promotions as store
from tests.support.api_project import PROJECT_YAML
from tests.unit.web.uihelpers import UiUnderTest, attach_engine, csrf_of, ui_app

APPROVALS = """\
  qa: {cluster: local, namespace: qa, after: [dev],
       approvals: {required: 2, groups: [release-managers], expiry: 2h}}
"""


def _project() -> ProjectConfig:
    return load_project_text(PROJECT_YAML.replace("apps:\n", APPROVALS + "apps:\n", 1))


def _token(ui: UiUnderTest, name: str, role: str = "approver") -> str:
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


def _waiting(ui: UiUnderTest, requested_by: str) -> str:
    now = datetime.now(UTC)
    with ui.database.session() as s:
        rel, _ = releases.create_release(
            s,
            artifacts={"checkout": "registry.example/shop/checkout:1.0"},
            alias="v2.0.0",
            labels={},
            creator="ci",
        )
        p = Promotion(
            id=new_promotion_id(now),
            release_id=rel.id,
            environment="qa",
            apps=("checkout",),
            requested_by=requested_by,
            created_at=now,
            state=PromotionState.WAITING,
            reason="approval: waiting",
            updated_at=now,
        )
        store.insert_promotion(s, p, next_check_at=None, data={})
    return p.id


def test_the_inbox_lists_what_waits_and_approves_through_the_engine(tmp_path: Path) -> None:
    config = _project()
    with ui_app(tmp_path, config) as ui:
        attach_engine(ui, config, tmp_path)
        pid = _waiting(ui, requested_by="alice")
        ui.sign_in(_token(ui, "alice"))
        own = ui.client.get("/ui/approvals")
        ui.client.cookies.clear()  # another person in another browser
        ui.sign_in(_token(ui, "bob"))
        inbox = ui.client.get("/ui/approvals")
        token = csrf_of(inbox.text)
        empty_reason = ui.client.post(
            f"/ui/approvals/{pid}/reject", data={"csrf_token": token, "reason": ""}
        )
        approved = ui.client.post(
            f"/ui/approvals/{pid}/approve",
            data={"csrf_token": token, "comment": "looks good"},
            follow_redirects=False,
        )
        after = ui.client.get("/ui/approvals?done=approved")
        twice = ui.client.post(
            f"/ui/approvals/{pid}/approve", data={"csrf_token": token, "comment": ""}
        )
        ui.client.cookies.clear()
        ui.sign_in(_token(ui, "carol"))
        carols = ui.client.get("/ui/approvals")
        with ui.database.session() as s:
            approvals = promotion_controls.approvals_for(s, *_release_env(s, pid))
            record = store.get_promotion(s, pid)
    # The requester's own promotion is not in their inbox.
    assert own.status_code == 200 and "Nothing waits for your approval" in own.text
    assert "v2.0.0 → qa" in inbox.text and "0 of 2" in inbox.text
    assert "an approval stays valid 2h" in inbox.text
    assert empty_reason.status_code == 422
    assert 'id="reason-' in empty_reason.text and "body.reason: String should have" in (
        empty_reason.text
    )
    assert approved.status_code == 303 and after.text.count("was approved") == 1
    assert "Nothing waits for your approval" in after.text
    assert twice.status_code in (403, 409) and 'id="action-error"' in twice.text
    # Carol sees bob's approval and when it expires.
    assert "1 of 2" in carols.text and "(by bob)" in carols.text and "expires" in carols.text
    assert [a.user for a in approvals] == ["bob"]
    assert record is not None and record.state == "Waiting"


def _release_env(s, pid):  # type: ignore[no-untyped-def]
    record = store.get_promotion(s, pid)
    assert record is not None
    return record.release_id, record.environment


def test_a_viewer_has_an_empty_inbox_and_cannot_approve(tmp_path: Path) -> None:
    config = _project()
    with ui_app(tmp_path, config) as ui:
        attach_engine(ui, config, tmp_path)
        pid = _waiting(ui, requested_by="alice")
        ui.sign_in(_token(ui, "vic", role="viewer"))
        page = ui.client.get("/ui/approvals")
        refused = ui.client.post(
            f"/ui/approvals/{pid}/approve", data={"csrf_token": csrf_of(page.text)}
        )
        with ui.database.session() as s:
            approvals = promotion_controls.approvals_for(s, *_release_env(s, pid))
    assert "Nothing waits for your approval" in page.text
    assert refused.status_code == 403 and "this call needs &#39;approver&#39;" in refused.text
    assert approvals == []
