"""The API's reads for people, in-process on a real SQLite store: the actions field of a
promotion, the approvals inbox, the environment graph, a release's timeline and the
artifact half of a release diff. (The preview and the manifest diff need git and a
cluster: tests/integration/api/test_preview.py.)"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from shiplane.config import load_project_text
from shiplane.config.models import ProjectConfig
from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.domain.promotion_ids import new_promotion_id
from shiplane.store import promotions as store
from shiplane.store import releases, tokens
from tests.support.api_project import PROJECT_YAML
from tests.unit.api.apphelpers import ApiUnderTest, api_app, project

APPROVALS = """\
  qa: {cluster: local, namespace: qa, after: [dev],
       approvals: {required: 1, groups: [release-managers], expiry: 2h}}
"""


def _project() -> ProjectConfig:
    """The shared test project with `qa` (after dev, with approvals) added."""
    text = PROJECT_YAML.replace("apps:\n", APPROVALS + "apps:\n", 1)
    return load_project_text(text)


def _token(api: ApiUnderTest, name: str, role: str, groups: tuple[str, ...] = ()) -> dict[str, str]:
    with api.database.session() as s:
        _record, plaintext = tokens.create_token(
            s, name=name, role=role, environments=(), created_by="test", groups=groups
        )
    return {"Authorization": f"Bearer {plaintext}"}


def _waiting_promotion(api: ApiUnderTest, requested_by: str) -> tuple[str, str]:
    now = datetime.now(UTC)
    with api.database.session() as s:
        rel, _ = releases.create_release(
            s,
            artifacts={"checkout": "registry.example/shop/checkout:1.0"},
            alias=None,
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
    return p.id, rel.id


def test_a_promotion_carries_the_callers_actions(tmp_path: Path) -> None:
    with api_app(tmp_path, _project()) as api:
        alice = _token(api, "alice", "approver", ("release-managers",))
        bob = _token(api, "bob", "approver", ("release-managers",))
        viewer = _token(api, "vic", "viewer")
        pid, _ = _waiting_promotion(api, requested_by="alice")
        mine = api.client.get(f"/api/v1/promotions/{pid}", headers=alice).json()["actions"]
        assert mine["approve"]["allowed"] is False
        assert "alice requested this promotion and cannot approve it" in mine["approve"]["reason"]
        assert mine["reject"] == {"allowed": True, "reason": "", "choices": {}}
        bobs = api.client.get(f"/api/v1/promotions/{pid}", headers=bob).json()["actions"]
        assert bobs["approve"]["allowed"] is True
        assert bobs["abort"]["allowed"] is True
        assert "only a failed" in bobs["retry"]["reason"]
        vic = api.client.get(f"/api/v1/promotions/{pid}", headers=viewer).json()["actions"]
        assert vic["abort"] == {
            "allowed": False,
            "reason": "token 'vic' has role 'viewer'; this call needs 'promoter' or higher",
            "choices": {},
        }


def test_a_promotion_without_a_project_has_no_actions(tmp_path: Path) -> None:
    with api_app(tmp_path) as api:
        pid, _ = _waiting_promotion(api, requested_by="alice")
        body = api.client.get(f"/api/v1/promotions/{pid}", headers=api.token()).json()
        assert body["actions"] is None
        assert body["promotion"]["id"] == pid


def test_the_inbox_answers_per_caller(tmp_path: Path) -> None:
    with api_app(tmp_path, _project()) as api:
        alice = _token(api, "alice", "approver", ("release-managers",))
        bob = _token(api, "bob", "approver", ("release-managers",))
        pid, _ = _waiting_promotion(api, requested_by="alice")
        assert api.client.get("/api/v1/approvals/inbox", headers=alice).json() == {"items": []}
        items = api.client.get("/api/v1/approvals/inbox", headers=bob).json()["items"]
        assert [i["promotion"]["id"] for i in items] == [pid]
        assert items[0]["missing"] == 1 and items[0]["expiry"] == "2h"
        assert items[0]["approvers"] == "group release-managers"
        assert api.client.get("/api/v1/approvals/inbox").status_code == 401


def test_the_environment_graph(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        body = api.client.get("/api/v1/environments/graph", headers=api.token("viewer")).json()
        assert body["layers"] == [["dev"], ["staging"], ["prod"]]
        assert [(e["source"], e["target"]) for e in body["edges"]] == [
            ("dev", "staging"),
            ("staging", "prod"),
        ]
        assert body["list_view"] is False and body["crossings"] == 0
    with api_app(tmp_path / "none") as api:
        answer = api.client.get("/api/v1/environments/graph", headers=api.token())
        assert answer.status_code == 409


def test_release_timeline_and_artifact_diff(tmp_path: Path) -> None:
    with api_app(tmp_path, _project()) as api:
        pid, rel_id = _waiting_promotion(api, requested_by="alice")
        with api.database.session() as s:
            other, _ = releases.create_release(
                s,
                artifacts={
                    "checkout": "registry.example/shop/checkout:2.0",
                    "payments": "registry.example/shop/payments:1.0",
                },
                alias="two",
                labels={},
                creator="ci",
            )
        h = api.token("viewer")
        timeline = api.client.get(f"/api/v1/releases/{rel_id}/timeline", headers=h).json()
        assert timeline["release"]["id"] == rel_id
        assert [p["id"] for p in timeline["promotions"]] == [pid]
        assert timeline["promotions"][0]["moments"][0]["state"] == "Created"
        assert timeline["environments"] == ["dev", "staging", "prod", "qa"]
        missing = api.client.get("/api/v1/releases/rel-nope/timeline", headers=h)
        assert missing.status_code == 404
        diff = api.client.get(
            f"/api/v1/releases/{rel_id}/diff", params={"against": "two"}, headers=h
        ).json()
        assert diff["b"] == other.id and diff["manifests"] is None
        assert {a["app"]: a["change"] for a in diff["artifacts"]} == {
            "checkout": "changed",
            "payments": "added",
        }
        # Manifests need the GitOps repository (a server started with --repo).
        with_env = api.client.get(
            f"/api/v1/releases/{rel_id}/diff",
            params={"against": "two", "environment": "qa"},
            headers=h,
        )
        assert with_env.status_code == 409
        typo = api.client.get(
            f"/api/v1/releases/{rel_id}/diff",
            params={"against": "two", "environment": "qaa"},
            headers=h,
        )
        assert typo.status_code == 404
        preview = api.client.get(
            f"/api/v1/releases/{rel_id}/preview", params={"environment": "qa"}, headers=h
        )
        assert preview.status_code == 409
