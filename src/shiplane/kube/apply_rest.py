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

from shiplane.domain.errors import ForbiddenError
from shiplane.kube.permissions import Denial, parse_denial

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


class KubeForbiddenError(KubeApiError, ForbiddenError):
    """The cluster's authorizer refused Shiplane's credentials a request (403): a
    permission error naming the verb, resource and namespace, with how to grant it."""

    def __init__(self, text: str, denial: Denial | None, *, method: str = "", path: str = ""):
        message = denial.message() if denial else f"permission denied: {text}"
        ForbiddenError.__init__(
            self,
            message,
            hint=denial.hint() if denial else "check the RBAC of Shiplane's credentials",
            details=denial.details() if denial else {"message": text},
        )
        self.code, self.reason, self.message = 403, "Forbidden", message
        self.causes: list[Cause] = []
        self.method, self.path = method, path
        self.denial = denial

    def __str__(self) -> str:
        return ForbiddenError.__str__(self)

    def explained(self, hint: str) -> KubeForbiddenError:
        """The same refusal with another hint (what to change in Shiplane's config)."""
        self.hint = hint
        return self


def forbidden(text: str, *, method: str = "", path: str = "") -> KubeForbiddenError:
    """The permission error of a 403 whose Status message is `text`."""
    return KubeForbiddenError(text, parse_denial(text), method=method, path=path)


def http_of(client: AsyncClient) -> httpx2.AsyncClient:
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
    text = str(status.get("message", ""))
    # A 403 is the authorizer's refusal, except for content refused in a namespace being
    # deleted (admission answers 403 too): that one is no permission error.
    if int(status.get("code") or resp.status_code) == 403 and "being terminated" not in text:
        return forbidden(text, method=method, path=path)
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
    resp = await http_of(client).request(
        method, path, params=dict(params or {}), content=content, headers=headers
    )
    if resp.status_code >= 300:
        raise error_from_response(resp, method, path)
    if not resp.content:
        return None
    return resp.json()


def forbidden_of(exc: BaseException) -> KubeForbiddenError | None:
    """A lightkube ApiError that is a 403, as Shiplane's permission error (typed calls)."""
    if isinstance(exc, KubeForbiddenError):
        return exc
    status = getattr(exc, "status", None)
    text = str(getattr(status, "message", "") or exc)
    if getattr(status, "code", None) != 403 or "being terminated" in text:
        return None
    return forbidden(text)
