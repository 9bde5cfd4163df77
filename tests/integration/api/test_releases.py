"""Releases through a real server: create (idempotent), show, list, filters, pagination."""

from __future__ import annotations

from tests.integration.api.helpers import assert_problem, image, unique_app
from tests.support.serverproc import ServerProcess


def test_create_show_and_recreate_is_idempotent(api_server: ServerProcess) -> None:
    app = unique_app()
    body = {"artifacts": {app: image(app)}, "alias": f"{app}-first", "labels": {"branch": "main"}}
    with api_server.admin() as admin:
        created = admin.post("/api/v1/releases", json=body)
        assert created.status_code == 201, created.text
        release = created.json()
        assert release["id"].startswith("rel-")
        assert release["alias"] == f"{app}-first"
        assert release["creator"] == "bootstrap"
        assert release["labels"] == {"branch": "main"}
        assert release["artifacts"][0]["ref"] == image(app)
        assert created.headers["location"] == f"/api/v1/releases/{release['id']}"

        again = admin.post("/api/v1/releases", json={**body, "alias": None})
        assert again.status_code == 200
        assert again.json() == release

        for ref in (release["id"], release["id"][:10], release["alias"]):
            shown = admin.get(f"/api/v1/releases/{ref}")
            assert shown.status_code == 200, ref
            assert shown.json()["id"] == release["id"]


def test_alias_is_generated_when_omitted(api_server: ServerProcess) -> None:
    app = unique_app()
    with api_server.admin() as admin:
        release = admin.post("/api/v1/releases", json={"artifacts": {app: image(app)}}).json()
    assert release["alias"] and not release["alias"].startswith("rel-")


def test_alias_taken_by_another_release_is_a_conflict(api_server: ServerProcess) -> None:
    app = unique_app()
    with api_server.admin() as admin:
        first = {"artifacts": {app: image(app, "1")}, "alias": f"{app}-x"}
        assert admin.post("/api/v1/releases", json=first).status_code == 201
        second = {"artifacts": {app: image(app, "2")}, "alias": f"{app}-x"}
        assert_problem(admin.post("/api/v1/releases", json=second), 409, "alias")


def test_unknown_release_is_404(api_server: ServerProcess) -> None:
    with api_server.admin() as admin:
        assert_problem(admin.get("/api/v1/releases/no-such-release"), 404, "no-such-release")


def test_filters_by_app_and_labels(api_server: ServerProcess) -> None:
    app, other = unique_app(), unique_app()
    with api_server.admin() as admin:
        for tag, branch in (("1", "main"), ("2", "feature"), ("3", "main")):
            body = {"artifacts": {app: image(app, tag)}, "labels": {"branch": branch, "t": tag}}
            assert admin.post("/api/v1/releases", json=body).status_code == 201
        admin.post("/api/v1/releases", json={"artifacts": {other: image(other)}})

        by_app = admin.get("/api/v1/releases", params={"app": app}).json()
        assert [r["artifacts"][0]["ref"] for r in by_app["items"]] == [
            image(app, "3"),
            image(app, "2"),
            image(app, "1"),
        ], "newest first"
        main = admin.get(
            "/api/v1/releases", params={"app": app, "label": ["branch=main", "t=3"]}
        ).json()
        assert [r["labels"]["t"] for r in main["items"]] == ["3"]
        assert_problem(
            admin.get("/api/v1/releases", params={"label": "nonsense"}), 422, "query.label"
        )


def test_pagination_walks_every_release_once(api_server: ServerProcess) -> None:
    app = unique_app()
    with api_server.admin() as admin:
        expected = []
        for n in range(7):
            body = {"artifacts": {app: image(app, f"{n}.0")}}
            expected.append(admin.post("/api/v1/releases", json=body).json()["id"])
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, str | int] = {"app": app, "limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = admin.get("/api/v1/releases", params=params).json()
            pages += 1
            assert len(page["items"]) <= 3
            seen += [r["id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert pages == 3
        assert seen == list(reversed(expected))


def test_bad_pagination_parameters_are_422(api_server: ServerProcess) -> None:
    with api_server.admin() as admin:
        assert_problem(admin.get("/api/v1/releases?limit=0"), 422, "query.limit")
        assert_problem(admin.get("/api/v1/releases?limit=501"), 422, "query.limit")
        assert_problem(admin.get("/api/v1/releases?cursor=garbage"), 422, "query.cursor")
        audit_cursor = admin.get("/api/v1/audit?limit=1").json()["next_cursor"]
        if audit_cursor:  # a cursor from another listing is rejected, not misread
            assert_problem(
                admin.get("/api/v1/releases", params={"cursor": audit_cursor}), 422, "cursor"
            )


def test_invalid_bodies_are_422_naming_the_field(api_server: ServerProcess) -> None:
    with api_server.admin() as admin:
        assert_problem(admin.post("/api/v1/releases", json={}), 422, "body.artifacts")
        assert_problem(
            admin.post("/api/v1/releases", json={"artifacts": {"checkout": "no-tag"}}),
            422,
            "checkout",
            "tag",
        )
        assert_problem(
            admin.post("/api/v1/releases", json={"artifacts": {"x": "a:1"}, "bogus": 1}),
            422,
            "body.bogus",
        )
        response = admin.post(
            "/api/v1/releases", content=b"{not json", headers={"content-type": "application/json"}
        )
        # Not JSON at all is a malformed request (400, docs/api.md), not a field problem.
        assert_problem(response, 400, "not valid JSON")
