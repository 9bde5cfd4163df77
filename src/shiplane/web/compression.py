"""gzip for the UI's responses (pages, fragments, assets, the audit export), so a page
of the 1,000-app matrix stays small on the wire. The API's responses are left as they
are. The event stream is never compressed: its content type (text/event-stream) is
excluded, and its path is skipped outright, so frames are never held back in a buffer.

Compressing pages that carry a CSRF token invites BREACH only when another site can make
the browser fetch them with its session; the session cookie is SameSite=Strict, so a
cross-site request is never signed in (docs/ui.md, Security)."""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from shiplane.web.paths import EVENTS_PATH

MINIMUM_SIZE = 1024  # smaller answers are not worth a compressor
COMPRESS_LEVEL = 6  # most of level 9's gain at a fraction of its CPU


class UiGZipMiddleware:
    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix
        self.gzip = GZipMiddleware(app, minimum_size=MINIMUM_SIZE, compresslevel=COMPRESS_LEVEL)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        under = path == self.prefix or path.startswith(self.prefix + "/")
        if scope["type"] != "http" or not under or path == EVENTS_PATH:
            await self.app(scope, receive, send)
            return
        await self.gzip(scope, receive, send)
