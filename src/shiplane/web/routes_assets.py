"""Hashed static assets, cached for a year (`immutable`): a new version is a new URL."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shiplane.web.assets import IMMUTABLE
from shiplane.web.paths import ASSETS_PREFIX
from shiplane.web.templating import web_context

router = APIRouter(include_in_schema=False)


@router.get(ASSETS_PREFIX + "/{digest}/{name:path}")
def asset(request: Request, digest: str, name: str) -> Response:
    found = web_context(request).assets.find(digest, name)
    if found is None:
        return Response("no such asset\n", status_code=404, media_type="text/plain")
    etag = f'"{found.digest}"'
    headers = {"Cache-Control": IMMUTABLE, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)
