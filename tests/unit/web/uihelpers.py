"""An in-process app with the web UI on a temporary SQLite database, and a signed-in
browser for it (TestClient keeps the cookies)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response

from shiplane.api.app import create_app
from shiplane.api.settings import ApiSettings
from shiplane.config.models import ProjectConfig
from shiplane.store import tokens
from shiplane.store.db import Database
from shiplane.web import install_ui

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')
_NONCE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class UiUnderTest:
    client: TestClient
    database: Database

    def token(self, role: str = "viewer", name: str | None = None) -> str:
        with self.database.session() as s:
            _record, plaintext = tokens.create_token(
                s, name=name or f"{role}-user", role=role, environments=(), created_by="test"
            )
        return plaintext

    def sign_in(self, token: str, next_path: str = "/ui/") -> Response:
        form = self.client.get("/ui/login")
        nonce = _NONCE.search(form.text)
        assert nonce is not None, form.text
        return self.client.post(
            "/ui/login",
            data={"csrf_token": nonce.group(1), "token": token, "next": next_path},
            follow_redirects=False,
        )

    def csrf(self) -> str:
        page = self.client.get("/ui/")
        match = _CSRF_META.search(page.text)
        assert match is not None, page.text
        return match.group(1)


@contextmanager
def ui_app(
    tmp_path: Path,
    project: ProjectConfig | None = None,
    *,
    base_url: str = "http://testserver",
    public_url: str | None = None,
) -> Iterator[UiUnderTest]:
    url = f"sqlite:///{tmp_path / 'ui.db'}"
    database = Database.from_url(url)
    database.migrate()
    settings = ApiSettings(database_url=url, project=project, public_url=public_url)
    app = create_app(settings, database=database, extensions=[install_ui])
    try:
        with TestClient(app, base_url=base_url, raise_server_exceptions=True) as client:
            yield UiUnderTest(client, database)
    finally:
        database.close()


def attach_engine(ui: UiUnderTest, project: ProjectConfig, tmp_path: Path) -> None:
    """Give the app an engine that is built but never started: its requests (freeze,
    hold, approve...) write to the store as in `shiplane serve`; nothing talks to git or
    a cluster. The UI's actions need it, as the API's do."""
    from shiplane.engine.service import Engine, EngineSettings

    settings = EngineSettings(
        repo_url=f"file://{tmp_path / 'no-repo.git'}", cache_dir=tmp_path / "git", git_poll=0
    )
    ui.client.app.state.shiplane.engine = Engine(ui.database, project, settings)  # type: ignore[attr-defined]


def csrf_of(html: str) -> str:
    match = _CSRF_META.search(html)
    assert match is not None, html
    return match.group(1)
