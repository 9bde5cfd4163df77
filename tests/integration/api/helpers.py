"""Small helpers shared by the API tests."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "request_id"}


def unique_app() -> str:
    return f"app-{secrets.token_hex(4)}"


def image(app: str, tag: str = "1.0.0") -> str:
    return f"registry.example/shop/{app}:{tag}"


def assert_problem(response: httpx.Response, status: int, *detail_parts: str) -> dict[str, Any]:
    """The response is problem+json with every RFC 9457 field and a readable detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_FIELDS, body
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in body["detail"]
    for part in detail_parts:
        assert part in body["detail"], body["detail"]
    return body


def create_token(admin: httpx.Client, role: str, environments: list[str] | None = None) -> str:
    response = admin.post("/api/v1/tokens", json={"role": role, "environments": environments or []})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def audit_count(admin: httpx.Client) -> int:
    """Number of events in the trail (the newest seq; the chain has no gaps)."""
    page = admin.get("/api/v1/audit", params={"limit": 1}).json()
    return int(page["items"][0]["seq"]) if page["items"] else 0
