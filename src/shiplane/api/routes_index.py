"""Where to start: `GET /` and `GET /api/v1` name the docs, the API and the probes, and
`GET /api/v1/docs` is the API reference (rendered here, usable offline)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from shiplane import __version__
from shiplane.api.docs_page import render_docs_page
from shiplane.api.settings import API_PREFIX

router = APIRouter(tags=["operations"])

DOCS_PATH = f"{API_PREFIX}/docs"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"


class IndexOut(BaseModel):
    """What this server offers, and where."""

    name: str
    version: str
    links: dict[str, str]


def _index() -> IndexOut:
    return IndexOut(
        name="Shiplane API",
        version=__version__,
        links={
            "docs": DOCS_PATH,
            "openapi": OPENAPI_PATH,
            "api": API_PREFIX,
            "health": "/healthz",
            "ready": "/readyz",
            "metrics": "/metrics",
        },
    )


@router.get("/", summary="Where to start: the docs, the API and the probes (no token needed)")
def index() -> IndexOut:
    return _index()


@router.get(API_PREFIX, summary="The API's entry: the same links as `/`")
def api_index() -> IndexOut:
    return _index()


@router.get(DOCS_PATH, include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    openapi: dict[str, Any] = request.app.openapi()
    return HTMLResponse(render_docs_page(openapi, OPENAPI_PATH))
