"""Raw JSON requests through a lightkube AsyncClient, for arbitrary kinds (including custom
resources) and for the discovery endpoints lightkube has no typed call for.

The request goes through the client's own connection (base URL, TLS and credentials from
the kubeconfig), so there is one connection pool per cluster. The API server's `Status`
on failure becomes a `KubeApiError` that keeps the code, reason, message and causes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lightkube import AsyncClient

if TYPE_CHECKING:  # lightkube's HTTP library; only its types are named here
    import httpx2

APPLY_PATCH = "application/apply-patch+yaml"
JSON = "application/json"


@dataclass(frozen=True)
class Cause:
    """One entry of a Status' `details.causes` (e.g. a field that failed validation)."""

    reason: str
    message: str
    field: str


class KubeApiError(Exception):
    """A non-2xx answer of the API server."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        causes: list[Cause] | None = None,
        *,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(code, reason, message)
        self.code = code
        self.reason = reason
        self.message = message
        self.causes = list(causes or [])
        self.method = method
        self.path = path

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}" if self.reason else self.message

    @property
    def not_found(self) -> bool:
        return self.code == 404

    @property
    def conflict(self) -> bool:
        return self.code == 409


def _http(client: AsyncClient) -> httpx2.AsyncClient:
    # lightkube keeps the configured httpx2 client (base URL, TLS, auth) one level down;
    # there is no public raw-request call, so this is the one place that reaches in.
    return client._client._client


def error_from_response(resp: httpx2.Response, method: str, path: str) -> KubeApiError:
    try:
        status = resp.json()
    except (ValueError, json.JSONDecodeError):
        status = None
    if not isinstance(status, dict):
        text = resp.text.strip() or resp.reason_phrase
        return KubeApiError(resp.status_code, "", text, method=method, path=path)
    details = status.get("details") or {}
    causes = [
        Cause(
            reason=str(c.get("reason", "")),
            message=str(c.get("message", "")),
            field=str(c.get("field", "")),
        )
        for c in details.get("causes") or []
        if isinstance(c, dict)
    ]
    return KubeApiError(
        code=int(status.get("code") or resp.status_code),
        reason=str(status.get("reason", "")),
        message=str(status.get("message", "")) or resp.reason_phrase,
        causes=causes,
        method=method,
        path=path,
    )


async def request(
    client: AsyncClient,
    method: str,
    path: str,
    *,
    params: Mapping[str, str] | None = None,
    body: Any = None,
    content_type: str = JSON,
    accept: str = JSON,
) -> Any:
    """Send one request; return the decoded JSON body (None when empty).

    Raises KubeApiError for any answer outside 2xx."""
    headers = {"Accept": accept}
    content: bytes | None = None
    if body is not None:
        content = json.dumps(body, separators=(",", ":")).encode()
        headers["Content-Type"] = content_type
    resp = await _http(client).request(
        method, path, params=dict(params or {}), content=content, headers=headers
    )
    if resp.status_code >= 300:
        raise error_from_response(resp, method, path)
    if not resp.content:
        return None
    return resp.json()
