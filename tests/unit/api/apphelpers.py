"""An in-process API app on a temporary SQLite database, with a project and tokens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from shiplane.api.app import create_app
from shiplane.api.settings import ApiSettings
from shiplane.config import load_project_text
from shiplane.config.models import ProjectConfig
from shiplane.store import tokens
from shiplane.store.db import Database
from tests.support.api_project import PROJECT_YAML


@dataclass
class ApiUnderTest:
    client: TestClient
    database: Database

    def token(self, role: str = "admin", environments: tuple[str, ...] = ()) -> dict[str, str]:
        with self.database.session() as s:
            _record, plaintext = tokens.create_token(
                s,
                name=f"{role}-{len(environments)}",
                role=role,
                environments=environments,
                created_by="test",
            )
        return {"Authorization": f"Bearer {plaintext}"}


def project(extra: str = "") -> ProjectConfig:
    return load_project_text(PROJECT_YAML + extra)


@contextmanager
def api_app(tmp_path: Path, project_config: ProjectConfig | None = None) -> Iterator[ApiUnderTest]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'api.db'}")
    database.migrate()
    settings = ApiSettings(database_url=database_url(tmp_path), project=project_config)
    app = create_app(settings, database=database)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield ApiUnderTest(client, database)
    finally:
        database.close()


def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'api.db'}"
