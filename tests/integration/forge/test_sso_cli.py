"""`shiplane login --sso` against the real Gitea: the CLI (a real process) listens on a
loopback port, the person signs in at Gitea (played by `GiteaApi.authorize`, which
follows the printed URL and lands on the loopback redirect), the server exchanges the
code and the CLI stores the short-lived token it answers, which the API accepts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select

from shiplane.api.app import create_app
from shiplane.api.settings import ApiSettings
from shiplane.store.db import Database
from shiplane.store.models import ApiToken
from tests.integration.forge.test_sso import SECRET_ENV, Org, sso_project
from tests.support.api_project import PROJECT_YAML
from tests.support.gitea import GiteaServer
from tests.support.gitea_api import GiteaApi, GiteaUser
from tests.support.inprocess_server import serving
from tests.support.prometheus import free_port
from tests.support.serverproc import running_server

pytestmark = pytest.mark.forge

SHIPLANE = Path(sys.executable).parent / "shiplane"


@dataclass(frozen=True)
class CliOrg:
    org: Org
    port: int  # the loopback port the OAuth app knows


@pytest.fixture(scope="module")
def cli_org(gitea: GiteaServer) -> CliOrg:
    forge = gitea.api()
    manager, developer, outsider = (forge.create_user() for _ in range(3))
    name = forge.create_org()
    forge.create_team(name, "release-managers", [manager])
    forge.create_team(name, "developers", [developer])
    owner = forge.create_user()
    port = free_port()
    app = forge.create_oauth_app(owner, [f"http://127.0.0.1:{port}/callback"])
    return CliOrg(Org(name, manager, developer, outsider, app, app), port)


@dataclass
class Server:
    url: str
    database: Database


@pytest.fixture
def server(
    tmp_path: Path, gitea: GiteaServer, cli_org: CliOrg, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    monkeypatch.setenv(SECRET_ENV, cli_org.org.app.client_secret)
    url = f"sqlite:///{tmp_path / 'api.db'}"
    database = Database.from_url(url)
    database.migrate()
    # The port the OAuth app knows, as a Gitea admin would set it up (docs/sso.md).
    project = sso_project(gitea, cli_org.org, extra=f"  cliPort: {cli_org.port}\n")
    settings = ApiSettings(database_url=url, project=project)
    try:
        with serving(create_app(settings, database=database)) as base:
            yield Server(base, database)
    finally:
        database.close()


def cli_login(
    server: Server,
    forge: GiteaApi,
    cli_org: CliOrg,
    user: GiteaUser,
    config: Path,
    *options: str,
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIPLANE_CONFIG": str(config), "NO_COLOR": "1"}
    argv = [str(SHIPLANE), "login", server.url, "--sso", "--no-browser", "--name", "sso",
            *options]  # fmt: skip
    with subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith("Sign in at:"), first + process.stderr.read()
        url = httpx.URL(process.stderr.readline().strip())
        back = forge.authorize(cli_org.org.app, user, dict(url.params))
        assert back.host == "127.0.0.1" and back.port == cli_org.port
        landed = httpx.get(str(back), timeout=10)
        assert landed.status_code == 200
        stdout, stderr = process.communicate(timeout=60)
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def test_login_sso_stores_a_short_lived_token_the_api_accepts(
    server: Server, forge: GiteaApi, cli_org: CliOrg, tmp_path: Path
) -> None:
    config = tmp_path / "cli.yaml"
    manager = cli_org.org.manager
    done = cli_login(server, forge, cli_org, manager, config)
    assert done.returncode == 0, done.stderr
    assert (
        f"as {manager.name} (role approver, all environments; viewer in other environments"
        in done.stdout
    )
    stored = yaml.safe_load(config.read_text())
    token = stored["contexts"]["sso"]["token"]
    assert token.startswith("shp_")
    with server.database.session() as s:
        [row] = s.scalars(select(ApiToken).where(ApiToken.created_by == "sso-cli"))
        assert row.name == manager.name and row.expires_at is not None
        assert row.environment_roles == {"*": "viewer", "prod": "approver"}
    me = httpx.get(
        f"{server.url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert me.status_code == 200 and me.json()["name"] == manager.name


def test_login_sso_of_someone_in_no_mapped_group_saves_nothing(
    server: Server, forge: GiteaApi, cli_org: CliOrg, tmp_path: Path
) -> None:
    config = tmp_path / "cli.yaml"
    port = str(cli_org.port)
    done = cli_login(server, forge, cli_org, cli_org.org.outsider, config, "--port", port)
    assert done.returncode != 0
    assert "is in none of the groups sso.roles maps" in done.stderr
    assert not config.exists()


def test_the_code_endpoint_accepts_only_a_loopback_redirect(server: Server) -> None:
    answer = httpx.post(
        f"{server.url}/api/v1/sso/token",
        json={
            "code": "x",
            "redirect_uri": "https://evil.example/callback",
            "code_verifier": "v" * 43,
            "nonce": "n" * 12,
        },
        timeout=10,
    )
    assert answer.status_code == 422 and "loopback" in answer.json()["detail"]
    with server.database.session() as s:
        assert list(s.scalars(select(ApiToken))) == []


def test_gitea_matches_a_confidential_clients_loopback_port_exactly(
    forge: GiteaApi, cli_org: CliOrg
) -> None:
    """Why `sso.cliPort` exists (docs/sso.md): Gitea accepts another loopback port only
    for public clients, and Shiplane is a confidential one."""
    app = forge.create_oauth_app(forge.create_user(), ["http://127.0.0.1/callback"])
    params = {
        "response_type": "code",
        "scope": "openid",
        "state": "state-123456",
        "redirect_uri": f"http://127.0.0.1:{free_port()}/callback",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
    }
    with pytest.raises(AssertionError, match="did not redirect: 400"):
        forge.authorize(app, cli_org.org.manager, params)


def test_serve_with_an_unreachable_issuer_warns_and_keeps_serving(
    tmp_path: Path, gitea: GiteaServer, cli_org: CliOrg
) -> None:
    config = tmp_path / "shiplane.yaml"
    config.write_text(
        PROJECT_YAML
        + f"""sso:
  issuer: http://127.0.0.1:9
  clientId: {cli_org.org.app.client_id}
  clientSecretEnv: SHIPLANE_TEST_UNSET_SSO_SECRET
"""
    )
    database = f"sqlite:///{tmp_path / 'shiplane.db'}"
    with running_server(tmp_path / "server", database, config=config) as server:
        stdout = server.stdout_path.read_text()
        ready = httpx.get(f"{server.url}/readyz", timeout=10)
        whoami = httpx.get(
            f"{server.url}/api/v1/whoami",
            headers={"Authorization": f"Bearer {server.admin_token}"},
            timeout=10,
        )
        info = httpx.get(f"{server.url}/api/v1/sso", timeout=10)
    assert "warning: single sign-on is not usable: the environment variable " in stdout
    assert "SHIPLANE_TEST_UNSET_SSO_SECRET (sso client secret) is not set" in stdout
    assert ready.status_code == 200 and whoami.status_code == 200
    assert info.status_code in (502, 503) and "cannot be reached" in info.json()["detail"]
