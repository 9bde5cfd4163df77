"""Rendering pages: one Jinja2 environment per app (autoescaped, strict about undefined
names), with the navigation, the hashed asset URLs and the signed-in user in every page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from shiplane import __version__
from shiplane.web import paths
from shiplane.web.assets import AssetManifest
from shiplane.web.csrf import CSRF_FIELD
from shiplane.web.nav import NAV

if TYPE_CHECKING:
    from shiplane.web.auth import WebUser

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass
class WebContext:
    """What the UI holds on `app.state.shiplane_web`."""

    templates: jinja2.Environment
    assets: AssetManifest


def _when(value: datetime | None) -> str:
    """A timestamp as people read it here: UTC, to the second."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def make_web_context(assets: AssetManifest | None = None) -> WebContext:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    manifest = assets if assets is not None else AssetManifest()
    env.globals.update(
        asset_url=manifest.url,
        nav=NAV,
        paths=paths,
        csrf_field=CSRF_FIELD,
        version=__version__,
    )
    env.filters["when"] = _when
    return WebContext(templates=env, assets=manifest)


def web_context(request: Request) -> WebContext:
    context = request.app.state.shiplane_web
    assert isinstance(context, WebContext)
    return context


def render(
    request: Request,
    template: str,
    *,
    user: WebUser | None = None,
    active: str | None = None,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    """A page or a fragment (a template that does not extend base.html)."""
    env = web_context(request).templates
    html = env.get_template(template).render(
        user=user,
        active=active,
        csrf_token=user.csrf if user is not None else "",
        request_path=request.url.path,
        status=status,
        **values,
    )
    return HTMLResponse(html, status_code=status)
