"""Authentication and authorisation: 401 without or with a bad token, 403 for a role or
environment scope that does not cover the call, always as problem details."""

from __future__ import annotations

from tests.integration.api.helpers import assert_problem, create_token, image, unique_app
from tests.support.serverproc import ServerProcess

PROTECTED = [
    ("GET", "/api/v1/releases"),
    ("GET", "/api/v1/releases/anything"),
    ("POST", "/api/v1/releases"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/audit/verify"),
    ("GET", "/api/v1/audit/export"),
    ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/tok-1"),
    ("GET", "/api/v1/matrix"),
    ("GET", "/api/v1/whoami"),
]


def test_every_api_route_needs_a_token(api_server: ServerProcess) -> None:
    with api_server.client() as anonymous:
        for method, path in PROTECTED:
            response = anonymous.request(method, path, json={})
            assert_problem(response, 401, "Authorization: Bearer")
            assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_or_malformed_token_is_401(api_server: ServerProcess) -> None:
    with api_server.client("shp_not-a-real-token-at-all-0000000000") as wrong:
        response = wrong.get("/api/v1/releases")
        assert_problem(response, 401, "unknown, revoked or expired")
        assert response.headers["www-authenticate"].startswith("Bearer")
    with api_server.client() as anonymous:
        basic = anonymous.get("/api/v1/releases", headers={"Authorization": "Basic Zm9vOmJhcg=="})
        assert_problem(basic, 401)


def test_viewer_can_read_but_not_create_releases(api_server: ServerProcess) -> None:
    app = unique_app()
    with api_server.admin() as admin:
        viewer_token = create_token(admin, "viewer")
    with api_server.client(viewer_token) as viewer:
        assert viewer.get("/api/v1/releases").status_code == 200
        denied = viewer.post("/api/v1/releases", json={"artifacts": {app: image(app)}})
        assert_problem(denied, 403, "role 'viewer'", "'promoter'")
        assert_problem(viewer.get("/api/v1/tokens"), 403, "'admin'")
        assert_problem(viewer.post("/api/v1/tokens", json={"role": "admin"}), 403)


def test_promoter_creates_releases_as_itself(api_server: ServerProcess) -> None:
    app = unique_app()
    with api_server.admin() as admin:
        token = create_token(admin, "promoter")
    with api_server.client(token) as promoter:
        me = promoter.get("/api/v1/whoami").json()
        assert me["role"] == "promoter"
        created = promoter.post("/api/v1/releases", json={"artifacts": {app: image(app)}})
        assert created.status_code == 201
        assert created.json()["creator"] == me["name"]


def test_environment_scope_limits_requests(api_server: ServerProcess) -> None:
    with api_server.admin() as admin:
        viewer_token = create_token(admin, "viewer", ["dev"])
        scoped_admin_token = create_token(admin, "admin", ["dev", "qa"])
    with api_server.client(viewer_token) as viewer:
        assert viewer.get("/api/v1/audit", params={"environment": "dev"}).status_code == 200
        denied = viewer.get("/api/v1/audit", params={"environment": "prod"})
        assert_problem(denied, 403, "scoped to environments [dev]", "'prod'")
    with api_server.client(scoped_admin_token) as scoped_admin:
        ok = scoped_admin.post("/api/v1/tokens", json={"role": "viewer", "environments": ["qa"]})
        assert ok.status_code == 201
        wider = scoped_admin.post(
            "/api/v1/tokens", json={"role": "viewer", "environments": ["prod"]}
        )
        assert_problem(wider, 403, "'prod'")
        unscoped = scoped_admin.post("/api/v1/tokens", json={"role": "viewer"})
        assert_problem(unscoped, 403, "unscoped")


def test_revoked_token_stops_working(api_server: ServerProcess) -> None:
    with api_server.admin() as admin:
        created = admin.post("/api/v1/tokens", json={"role": "viewer", "name": "short-lived"})
        token, token_id = created.json()["token"], created.json()["record"]["id"]
        with api_server.client(token) as viewer:
            assert viewer.get("/api/v1/releases").status_code == 200
            revoked = admin.delete(f"/api/v1/tokens/{token_id}")
            assert revoked.status_code == 200
            assert revoked.json()["revoked_at"] is not None
            assert_problem(viewer.get("/api/v1/releases"), 401)
        assert_problem(admin.delete("/api/v1/tokens/tok-does-not-exist"), 404, "tok-does-not-exist")


def test_token_listing_never_shows_secrets(api_server: ServerProcess) -> None:
    with api_server.admin() as admin:
        secret = create_token(admin, "approver")
        listing = admin.get("/api/v1/tokens", params={"limit": 500})
        assert listing.status_code == 200
        assert secret not in listing.text
        assert api_server.admin_token not in listing.text
        assert {"id", "name", "role", "environments"} <= set(listing.json()["items"][0])


def test_token_pagination(api_server: ServerProcess) -> None:
    with api_server.admin() as admin:
        for _ in range(3):
            create_token(admin, "viewer")
        total = len(admin.get("/api/v1/tokens", params={"limit": 500}).json()["items"])
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, str | int] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = admin.get("/api/v1/tokens", params=params).json()
            seen += [t["id"] for t in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == total == len(set(seen))
