"""`shiplane serve`: prepare the data directory and database, then run uvicorn.

Order matters: the config is validated and the database migrated *before* the port is
bound, so a broken setup fails fast with exit 1 and a readable message instead of a
half-started server.
"""

from __future__ import annotations

import fcntl
import gc
import os
import re
import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import uvicorn

from shiplane.api.app import AppExtension, create_app
from shiplane.api.logging import configure_logging
from shiplane.api.settings import (
    ApiSettings,
    check_public_url,
    default_data_dir,
    parse_listen,
)
from shiplane.api.sso import start_check as sso_start_check
from shiplane.kube import in_cluster
from shiplane.store import tokens
from shiplane.store.db import Database, default_database_url

BOOTSTRAP_ENV = "SHIPLANE_BOOTSTRAP_TOKEN"
DATABASE_ENV = "SHIPLANE_DATABASE_URL"
REPO_ENV = "SHIPLANE_REPO"
LEASE_TTL_ENV = "SHIPLANE_LEASE_TTL"
_REPLICA_ID = re.compile(r"[A-Za-z0-9._-]{1,60}")
REPLICA_ID_ENV = "SHIPLANE_REPLICA_ID"
PUBLIC_URL_ENV = "SHIPLANE_PUBLIC_URL"
GIT_POLL_ENV = "SHIPLANE_GIT_POLL_SECONDS"
DEFAULT_GIT_POLL = 30.0


class ServeError(Exception):
    """A setup problem that stops the server before it starts (exit 1)."""


@dataclass(frozen=True)
class ServeOptions:
    config: Path | None = None
    database_url: str | None = None
    listen: str = "127.0.0.1:8080"
    data_dir: Path | None = None
    repo: str | None = None
    branch: str = "main"
    health_timeout: float = 300.0
    lease_ttl: float | None = None
    replica_id: str | None = None
    # Where people reach this server; else $SHIPLANE_PUBLIC_URL (links in notifications).
    public_url: str | None = None
    # Seconds between looks at the GitOps branch head; else $SHIPLANE_GIT_POLL_SECONDS.
    git_poll: float | None = None
    # What the composing caller adds to the app: the CLI passes the web UI here.
    extensions: Sequence[AppExtension] = ()


def resolve_lease_ttl(options: ServeOptions) -> float:
    raw: object = options.lease_ttl
    source = "--lease-ttl"
    if raw is None:
        raw, source = os.environ.get(LEASE_TTL_ENV), LEASE_TTL_ENV
    if raw is None or raw == "":
        from shiplane.engine.leases import DEFAULT_TTL

        return DEFAULT_TTL
    try:
        ttl = float(str(raw))
    except ValueError:
        raise ServeError(f"{source}={raw!r} is not a number of seconds (e.g. 15)") from None
    if not 1.0 <= ttl <= 3600.0:
        raise ServeError(f"{source}={raw!r}: a lease TTL must be 1 to 3600 seconds")
    return ttl


def resolve_git_poll(options: ServeOptions) -> float:
    """Seconds between looks at the branch head for a new shiplane.yaml; 0 turns
    following off."""
    raw: object = options.git_poll
    source = "--git-poll"
    if raw is None:
        raw, source = os.environ.get(GIT_POLL_ENV), GIT_POLL_ENV
    if raw is None or raw == "":
        return DEFAULT_GIT_POLL
    try:
        seconds = float(str(raw))
    except ValueError:
        raise ServeError(f"{source}={raw!r} is not a number of seconds (e.g. 30)") from None
    if seconds != 0 and not 0.2 <= seconds <= 3600.0:
        raise ServeError(
            f"{source}={raw!r}: poll the GitOps branch every 0.2 to 3600 seconds, "
            "or 0 to not follow it"
        )
    return seconds


def resolve_database_url(options: ServeOptions, data_dir: Path) -> str:
    return options.database_url or os.environ.get(DATABASE_ENV) or default_database_url(data_dir)


def load_project_config(path: Path | None) -> Any:
    if path is None:
        return None
    from shiplane.config import ConfigError, load_project

    try:
        return load_project(path)
    except ConfigError as exc:
        raise ServeError(f"invalid config {path}:\n{exc}") from None
    except OSError as exc:
        raise ServeError(f"cannot read config {path}: {exc.strerror or exc}") from None


def load_config_from_repo(
    repo: str, branch: str, cache_dir: Path, *, fall_back: bool = False, out: TextIO = sys.stdout
) -> tuple[Any, Path, str]:
    """Clone (or fetch) the GitOps repository and load `shiplane.yaml` from its head;
    the project, its path in the exported tree, and the commit it was read at.

    With `fall_back` (the server follows the branch), a broken version at the head does
    not stop the start when an earlier version is valid: the server starts with the
    newest valid one, and refuses the head as it would refuse it while running."""
    import asyncio

    from shiplane.engine.git_watch import last_good_version
    from shiplane.gitops import GitError, GitWorkspace

    workspace = GitWorkspace(repo, cache_dir, branch=branch)

    async def head_tree() -> tuple[Path, str]:
        head = await workspace.sync()
        return await workspace.read_tree(head), head

    try:
        tree, head = asyncio.run(head_tree())
    except GitError as exc:
        raise ServeError(f"cannot read the GitOps repository: {exc}") from None
    path = tree / "shiplane.yaml"
    try:
        if not path.is_file():
            raise ServeError(
                f"the GitOps repository {workspace!r} has no shiplane.yaml at its root "
                "(create one with `shiplane init`)"
            )
        return load_project_config(path), path, head
    except ServeError:
        if not fall_back:
            raise
        try:
            good = asyncio.run(last_good_version(workspace))
        except GitError:
            good = None
        if good is None:
            raise
    out.write(
        f"shiplane.yaml at the head of {branch} ({head[:12]}) is not valid; starting with "
        f"the last valid version ({good.commit[:12]}). The errors: shiplane status\n"
    )
    out.flush()
    return good.project, good.tree / "shiplane.yaml", good.commit


def lock_sqlite(url: str) -> TextIO | None:
    """SQLite is the single-process default: hold an exclusive lock next to the database
    for the server's lifetime, and refuse a second server on the same file clearly."""
    from shiplane.store.db import normalize_url

    parsed = normalize_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    path = Path(database).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path.with_name(path.name + ".serve.lock"), "a+")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise ServeError(
            f"another `shiplane serve` (pid {holder}) is using the SQLite database {path}; "
            "SQLite allows one server: stop that one, or run several replicas on PostgreSQL "
            "(--db postgresql://... or SHIPLANE_DATABASE_URL)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def prepare_database(url: str) -> Database:
    """Open and migrate the database (idempotent)."""
    database = Database.from_url(url)
    try:
        database.migrate()
    except Exception:
        database.close()
        raise
    return database


def ensure_admin_token(database: Database, out: TextIO) -> None:
    """Make sure an admin token exists; print a new one exactly once.

    Called only once the port listens: a start that fails earlier (port taken, bad
    settings) must not consume the one chance to see the first token."""
    preset = os.environ.get(BOOTSTRAP_ENV) or None
    with database.session() as session:
        created = tokens.ensure_bootstrap_token(session, preset)
    if created is not None and preset is None:
        out.write(
            "Created the first admin token. It is shown only this once; keep it safe:\n"
            f"  {created}\n"
            "Log in with: shiplane login http://HOST:PORT --token <token>\n"
        )
    elif created is not None:
        out.write(f"Created the first admin token from ${BOOTSTRAP_ENV}.\n")
    out.flush()


class _Server(uvicorn.Server):
    """uvicorn re-raises a captured signal after draining, so SIGTERM would end the
    process with status -15. SIGTERM is how services are normally stopped, so a drained
    stop on SIGTERM exits 0; Ctrl-C (SIGINT) keeps uvicorn's behaviour (exit 130)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM and sig in self._captured_signals:
            self._captured_signals.remove(sig)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    # Listen now: clients that connect while the app starts up (migrations are done,
    # the engine clones the GitOps repository) wait in the backlog instead of being
    # refused.
    sock.listen(2048)
    return sock


def serve(options: ServeOptions, *, out: TextIO = sys.stdout) -> None:
    """Run until SIGTERM/SIGINT (uvicorn drains in-flight requests, then returns)."""
    try:
        host, port = parse_listen(options.listen)
    except ValueError as exc:
        raise ServeError(str(exc)) from None
    configure_logging()
    data_dir = (options.data_dir or default_data_dir()).expanduser()
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ServeError(f"cannot create data directory {data_dir}: {exc.strerror}") from None
    repo = options.repo or os.environ.get(REPO_ENV) or None
    config_path = options.config
    git_poll = resolve_git_poll(options)
    # Read from the repository, shiplane.yaml is followed at the branch head from then
    # on; read from --config FILE, it is the project until a restart.
    config_commit: str | None = None
    if config_path is None and repo is not None:
        project, config_path, config_commit = load_config_from_repo(
            repo, options.branch, data_dir / "git", fall_back=git_poll > 0, out=out
        )
    else:
        project = load_project_config(config_path)
    url = resolve_database_url(options, data_dir)
    lease_ttl = resolve_lease_ttl(options)
    replica_id = options.replica_id or os.environ.get(REPLICA_ID_ENV) or None
    if replica_id is not None and not _REPLICA_ID.fullmatch(replica_id):
        raise ServeError(
            f"replica id {replica_id!r} is not valid: use 1-60 letters, digits, '.', '_' or '-'"
        )
    public_url = options.public_url or os.environ.get(PUBLIC_URL_ENV) or None
    if public_url is not None:
        try:
            public_url = check_public_url(public_url)
        except ValueError as exc:
            raise ServeError(str(exc)) from None
    try:
        sqlite_lock = lock_sqlite(url)
    except ValueError as exc:
        raise ServeError(str(exc)) from None
    try:
        database = prepare_database(url)
    except ValueError as exc:  # a bad URL or bootstrap token: the message says which
        raise ServeError(str(exc)) from None
    except Exception as exc:
        raise ServeError(f"cannot prepare the database: {type(exc).__name__}: {exc}") from None
    settings = ApiSettings(
        database_url=url,
        project=project,
        config_path=config_path,
        repo_url=repo,
        repo_branch=options.branch,
        git_cache_dir=data_dir / "git",
        config_commit=config_commit,
        git_poll=git_poll,
        health_timeout=options.health_timeout,
        lease_ttl=lease_ttl,
        replica_id=replica_id,
        public_url=public_url,
    )
    app = create_app(settings, database=database, extensions=options.extensions)
    try:
        sock = bind_socket(host, port)
    except ServeError:
        database.close()
        raise
    try:
        ensure_admin_token(database, out)
    except Exception as exc:
        sock.close()
        database.close()
        if isinstance(exc, ValueError):  # a bad SHIPLANE_BOOTSTRAP_TOKEN: the message says
            raise ServeError(str(exc)) from None
        raise ServeError(f"cannot create the admin token: {type(exc).__name__}: {exc}") from None
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    out.write(f"Shiplane API listening on http://{shown_host}:{bound_port}\n")
    ui_home = getattr(app.state, "ui_home", None)
    if ui_home:
        out.write(f"Shiplane web UI on http://{shown_host}:{bound_port}{ui_home}\n")
    for line in in_cluster_warnings(project):
        out.write(f"warning: {line}\n")
    problem = sso_start_check(getattr(project, "sso", None))
    if problem is not None:
        out.write(
            f"warning: single sign-on is not usable: {problem}. Signing in with SSO shows "
            "this until it is fixed; API tokens keep working.\n"
        )
    out.flush()
    # Start-up objects (config, models, routes) never die: moving them out of the
    # collector's reach keeps full collections short while large responses are built.
    gc.collect()
    gc.freeze()
    config = uvicorn.Config(
        app,
        log_level="info",
        access_log=False,  # our middleware writes the one access line per request
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    try:
        _Server(config).run(sockets=[sock])
    finally:
        sock.close()
        database.close()
        if sqlite_lock is not None:
            sqlite_lock.close()


def in_cluster_warnings(project: object) -> list[str]:
    """Clusters configured `inCluster: true` on a server that does not run in a pod (no
    service account token where the kubelet mounts one, `SHIPLANE_IN_CLUSTER` unset): a
    warning at start, the same reason in /readyz (docs/clusters.md)."""
    clusters = getattr(project, "clusters", None) or {}
    wanted = [name for name, c in clusters.items() if c.in_cluster]
    if not wanted or in_cluster.running_in_cluster():
        return []
    return [
        f"cluster {name} is inCluster but no service account token is in "
        f"{in_cluster.service_account_dir()} (run in a pod, or set {in_cluster.DIR_ENV})"
        for name in wanted
    ]
