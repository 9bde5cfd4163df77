"""A real Gitea (a git forge and OAuth2/OpenID Connect provider) for tests, on 127.0.0.1.

`gitea` (session-scoped) runs the Gitea that `shiplane localcluster build --with gitea`
builds from its pinned Go module (built here first when it is not cached, as the cluster
fixtures do), with SQLite in a temporary directory, on a free loopback port. Gitea refuses
to run as root, so under root it runs as an unprivileged system user through `runuser -u
USER --` (as the PostgreSQL fixture runs PostgreSQL): `nobody` unless
`SHIPLANE_TEST_GITEA_USER` names another. The process is stopped by its PID at the end of
the session, also when tests failed. Users, tokens, organisations, teams, repositories,
OAuth2 applications and webhooks are made with `tests.support.gitea_api.GiteaApi`;
tests take unique names (`unique_name`) since the server is shared by the session.
A fixture plugin of tests/conftest.py; tests that use it carry the `forge` marker.
"""

from __future__ import annotations

import base64
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shiplane.localcluster.build import build_all, component_dir
from shiplane.localcluster.components import optional_component
from tests.support.gitea_api import GiteaApi, GiteaUser
from tests.support.prometheus import free_port
from tests.support.wait import wait_for

__all__ = ["GiteaServer", "build_gitea", "gitea", "gitea_binary", "start_gitea"]

USER_VARIABLE = "SHIPLANE_TEST_GITEA_USER"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
ADMIN_NAME = "shiplane-admin"


@dataclass
class GiteaServer:
    """A running Gitea: its URL, its site admin and how to run its CLI."""

    url: str  # http://127.0.0.1:PORT (no trailing slash)
    root: Path
    run_user: str
    binary: Path
    process: subprocess.Popen[bytes]
    admin: GiteaUser

    @property
    def config(self) -> Path:
        return self.root / "app.ini"

    @property
    def log_path(self) -> Path:
        return self.root / "gitea.log"

    def api(self) -> GiteaApi:
        """Helpers for users, tokens, organisations, repositories, OAuth2 apps, webhooks."""
        return GiteaApi(self.url, self.admin, self.cli)

    def cli(self, *args: str) -> str:
        """Run `gitea ARGS` against this server's config as its user; its stdout."""
        argv = [str(self.binary), *args, "--config", str(self.config)]
        done = subprocess.run(
            _as_user(self.run_user, self.root, argv),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"gitea {' '.join(args[:3])} failed:\n{done.stderr}{done.stdout}")
        return done.stdout

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _run_user() -> str:
    """Who runs Gitea: this user, or under root an unprivileged one (Gitea refuses root)."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    name = os.environ.get(USER_VARIABLE, "nobody")
    try:
        pwd.getpwnam(name)
    except KeyError:
        pytest.fail(f"running as root but there is no user {name!r} to run Gitea as; set "
                    f"{USER_VARIABLE} to an unprivileged user", pytrace=False)  # fmt: skip
    return name


def _as_user(user: str, root: Path, argv: list[str]) -> list[str]:
    # runuser sets HOME from the passwd entry (/nonexistent for nobody): Gitea and the git
    # it runs get a home inside the work folder instead.
    env = ["env", f"HOME={root / 'home'}", f"USER={user}", f"GITEA_WORK_DIR={root}"]
    if os.geteuid() == 0:
        return ["runuser", "-u", user, "--", *env, *argv]
    return [*env, *argv]


def _link_tree(source: Path, dest: Path) -> None:
    """Hard-link (or copy) a cached file or folder into `dest`: the binary cache may sit
    below a home the run user cannot enter (/root is 0700)."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    if source.is_dir():
        shutil.copytree(source, dest, copy_function=link)
    else:
        link(str(source), str(dest))


def _secret(size: int = 32) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(size)).decode().rstrip("=")


def _app_ini(root: Path, port: int, user: str) -> str:
    url = f"http://127.0.0.1:{port}/"
    return f"""\
APP_NAME = Shiplane test forge
RUN_USER = {user}
RUN_MODE = prod
WORK_PATH = {root}

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = {port}
DOMAIN = 127.0.0.1
ROOT_URL = {url}
DISABLE_SSH = true
START_SSH_SERVER = false
LFS_START_SERVER = false
OFFLINE_MODE = true
STATIC_ROOT_PATH = {root / "static"}
APP_DATA_PATH = {root / "data"}
GRACEFUL_HAMMER_TIME = 3s

[database]
DB_TYPE = sqlite3
PATH = {root / "data" / "gitea.db"}
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = {root / "repositories"}
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = {_secret()}
INTERNAL_TOKEN = {_secret(48)}

[oauth2]
ENABLED = true
JWT_SECRET = {_secret()}

[service]
DISABLE_REGISTRATION = true
DEFAULT_ALLOW_CREATE_ORGANIZATION = true

[webhook]
; Shiplane under test listens on 127.0.0.1; Gitea refuses loopback targets by default.
ALLOWED_HOST_LIST = loopback
DELIVER_TIMEOUT = 10

[actions]
ENABLED = false

[packages]
ENABLED = false

[mailer]
ENABLED = false

[cron.update_checker]
ENABLED = false

[log]
MODE = console
LEVEL = Info
"""


def _pid_of(server_root: Path) -> int | None:
    try:
        return int((server_root / "gitea.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _stop(root: Path, process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to Gitea's own PID (from its --pid file), SIGKILL after a deadline; then
    the runuser wrapper, which exits with it."""
    pid = _pid_of(root)
    if pid is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            if Path(f"/proc/{pid}").exists() and process.poll() is None:
                os.kill(pid, signal.SIGKILL)
    if process.poll() is None:
        process.terminate()  # the wrapper's PID: runuser passes SIGTERM on to its child
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def build_gitea() -> Path:
    """The cached Gitea binary, built first when missing (a no-op when cached, as under
    `make test`; a cold build takes minutes)."""
    c = optional_component("gitea")
    build_all((c,), progress=lambda _line: None)
    return component_dir(c) / "gitea"


def start_gitea(root: Path, cached: Path) -> GiteaServer:
    """Start the Gitea binary `cached` (its static folders beside it) under `root`, an
    empty folder, and make its site admin."""
    user = _run_user()
    binary = root / "gitea"
    _link_tree(cached, binary)
    (root / "static").mkdir()
    for folder in optional_component("gitea").source_dirs:
        _link_tree(cached.parent / folder, root / "static" / folder)
    for folder in ("data", "repositories", "home"):
        (root / folder).mkdir()
    port = free_port()
    (root / "app.ini").write_text(_app_ini(root, port, user))
    entry = pwd.getpwnam(user)
    for folder, _dirs, files in os.walk(root):
        # Gitea writes its data, its pid file and generated secrets back into app.ini.
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        for name in files:
            if name == "app.ini":
                os.chown(Path(folder) / name, entry.pw_uid, entry.pw_gid)
    argv = [str(binary), "web", "--config", str(root / "app.ini"), "--pid", str(root / "gitea.pid")]
    with (root / "gitea.log").open("ab") as log:
        process = subprocess.Popen(
            _as_user(user, root, argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=root,
        )
    admin = GiteaUser(ADMIN_NAME, _secret(18), f"{ADMIN_NAME}@example.test")
    server = GiteaServer(f"http://127.0.0.1:{port}", root, user, binary, process, admin)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"Gitea exited ({process.returncode}):\n{server.log_tail()}")
        return httpx.get(f"{server.url}/api/v1/version", timeout=2).status_code == 200

    try:
        wait_for(ready, timeout=STARTUP_TIMEOUT, interval=0.1, what=f"Gitea on {server.url}")
        server.cli(
            "admin", "user", "create", "--admin", "--username", admin.name,
            "--password", admin.password, "--email", admin.email,
            "--must-change-password=false",
        )  # fmt: skip
    except BaseException:
        _stop(root, process)
        raise
    return server


@pytest.fixture(scope="session")
def gitea_binary() -> Path:
    """The Gitea that `shiplane localcluster build --with gitea` builds."""
    return build_gitea()


@pytest.fixture(scope="session")
def gitea(gitea_binary: Path) -> Iterator[GiteaServer]:
    """A Gitea on 127.0.0.1 for the test session, stopped by its PID at the end."""
    root = Path(tempfile.mkdtemp(prefix="shiplane-gitea-"))
    try:
        server = start_gitea(root, gitea_binary)
        try:
            yield server
        finally:
            _stop(root, server.process)
    finally:
        shutil.rmtree(root, ignore_errors=True)
