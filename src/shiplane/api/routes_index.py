"""Where to start: `GET /` and `GET /api/v1` name the docs, the API and the probes, and
`GET /api/v1/docs` is the API reference (rendered here, usable offline)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
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


@router.get(
    "/",
    summary="Where to start: the docs, the API and the probes (no token needed)",
    response_model=IndexOut,
    responses={303: {"description": "A browser is sent to the web UI, when it is on"}},
)
def index(request: Request) -> Response:
    # With the web UI on, a browser (it asks for HTML) lands on the UI; API clients keep
    # getting the links.
    ui_home = getattr(request.app.state, "ui_home", None)
    if not ui_home:
        return Response(_index().model_dump_json(), media_type="application/json")
    vary = {"Vary": "Accept"}  # the answer depends on it: caches must keep both
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse(ui_home, status_code=303, headers=vary)
    return Response(_index().model_dump_json(), media_type="application/json", headers=vary)


@router.get(API_PREFIX, summary="The API's entry: the same links as `/`")
def api_index() -> IndexOut:
    return _index()


@router.get(DOCS_PATH, include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    openapi: dict[str, Any] = request.app.openapi()
    return HTMLResponse(render_docs_page(openapi, OPENAPI_PATH))
