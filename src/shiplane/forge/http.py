"""The HTTP side every driver shares: one client per driver, the token in a header
(never in a URL, a log line or an error message), and one mapping of failures onto
the error families of domain/errors.py:

| what happened                    | error                                   |
| -------------------------------- | --------------------------------------- |
| 401, 403                         | ForgeAuthError (ForbiddenError)          |
| 404                              | ForgeNotFoundError (NotFoundError)       |
| 429, 5xx, timeout, no connection | ForgeError (ExternalError, retryable)    |
| other 4xx (e.g. 422)             | ForgeRejectedError (InvalidError)        |
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from shiplane.forge.base import (
    ForgeAuthError,
    ForgeError,
    ForgeNotFoundError,
    ForgeRejectedError,
)

_DETAIL_LIMIT = 200


class ForgeHttp:
    """JSON calls to one forge API (`base_url` ends at the API root)."""

    def __init__(
        self,
        forge: str,
        base_url: str,
        auth_headers: Mapping[str, str],
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.forge = forge
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Accept": "application/json", "User-Agent": "shiplane", **auth_headers},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str | int] | None = None,
        accept: tuple[int, ...] = (),
    ) -> httpx.Response:
        """The response when its status is 2xx (or in `accept`); else the mapped error."""
        what = f"{self.forge} {method} {path}"
        try:
            response = await self.client.request(method, path, json=json_body, params=params)
        except httpx.TimeoutException:
            raise ForgeError(f"{what}: timed out", retryable=True) from None
        except httpx.TransportError as exc:
            raise ForgeError(f"{what}: {type(exc).__name__}", retryable=True) from None
        status = response.status_code
        if status < 300 or status in accept:
            return response
        detail = f"{what}: HTTP {status} {_detail(response)}".strip()
        details = {"forge": self.forge, "status": status}
        if status in (401, 403):
            raise ForgeAuthError(
                detail, hint="check the forge token and its scopes", details=details
            )
        if status == 404:
            raise ForgeNotFoundError(detail, details=details)
        if status == 429 or status >= 500:
            raise ForgeError(detail, retryable=True, details=details)
        raise ForgeRejectedError(detail, details=details)

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ForgeError(f"{self.forge} {method} {path}: the answer is not JSON") from None

    async def aclose(self) -> None:
        await self.client.aclose()


def _detail(response: httpx.Response) -> str:
    """The forge's own message (`message`, `error`), bounded; never the request."""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return ""
    if isinstance(body, dict):
        for key in ("message", "error", "error_description"):
            value = body.get(key)
            if isinstance(value, str | list):
                return str(value)[:_DETAIL_LIMIT]
    return ""


def text(value: Any, what: str) -> str:
    """A required string field of a forge's answer."""
    if not isinstance(value, str):
        raise ForgeError(f"the forge's answer has no {what}")
    return value


def obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ForgeError(f"the forge's answer has no {what} object")
    return value


def number(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ForgeError(f"the forge's answer has no {what}")
    return value
