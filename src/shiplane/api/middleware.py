"""The outermost request layer: request ids, access log, metrics, and the last-resort 500.

Written as plain ASGI (not BaseHTTPMiddleware) so streamed responses such as the audit
export pass through untouched and the status is observed from the real `send` calls.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shiplane.api.logging import get_logger
from shiplane.api.metrics import UNMATCHED_ROUTE, ApiMetrics
from shiplane.api.problems import PROBLEM_MEDIA_TYPE, problem_body

REQUEST_ID_HEADER = "x-request-id"
# Accept a caller's id only when it is short and plain, so it is safe to echo and log.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

_access_log = get_logger("shiplane.api.access")
_error_log = get_logger("shiplane.api.error")


def request_id_from(scope: Scope) -> str:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name.decode("latin-1").lower() == REQUEST_ID_HEADER:
            candidate: str = value.decode("latin-1").strip()
            if _SAFE_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path: object = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                # Logged in full on the server; the client gets a problem without internals.
                _error_log.exception("unhandled error", path=scope.get("path"))
                if not response_started:
                    await _send_internal_error(scope, send_with_id, request_id)
            finally:
                seconds = time.perf_counter() - started
                route = route_template(scope)
                method = str(scope.get("method", ""))
                self.metrics.observe_request(method, route, status, seconds)
                _access_log.info(
                    "request",
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )


async def _send_internal_error(scope: Scope, send: Send, request_id: str) -> None:
    body: dict[str, Any] = problem_body(
        status=500,
        detail="the server failed to handle this request; "
        f"its logs have the details under request id {request_id}",
        instance=str(scope.get("path", "")),
        request_id=request_id,
    )
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
