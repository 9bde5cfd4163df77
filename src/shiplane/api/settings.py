"""Settings of one API server: where the database is, which project config is loaded.

The server entry point (`server.py`) resolves command-line options and environment
variables into one `ApiSettings`; the app factory receives nothing else, so tests can
build an app from explicit values without touching the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

API_PREFIX = "/api/v1"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


@dataclass(frozen=True)
class ApiSettings:
    """Everything `create_app` needs.

    `project` is the already-validated `ProjectConfig` (typed loosely here so the API
    does not force the config package to import at settings time); None means the server
    runs without a shiplane.yaml and the matrix is empty.
    """

    database_url: str
    project: Any = None
    config_path: Path | None = None
    # The GitOps repository the engine deploys from; None runs the API without an engine
    # (releases, audit, tokens and the matrix still work).
    repo_url: str | None = None
    repo_branch: str = "main"
    git_cache_dir: Path | None = None
    # The commit `project` was read at when it came from the repository (not --config):
    # the server then follows shiplane.yaml at the branch head, looking every
    # `git_poll` seconds (0: it does not follow).
    config_commit: str | None = None
    git_poll: float = 30.0
    health_timeout: float = 300.0
    # Leases of this replica (docs/durability.md): TTL in seconds and its name.
    lease_ttl: float = 15.0
    replica_id: str | None = None
    # Where people reach this server (`https://shiplane.example`), for links in
    # notifications; None leaves `links.api` null.
    public_url: str | None = None
    # Slow clients must not hold an export thread forever; see streaming.py.
    export_queue_size: int = 256


def default_data_dir() -> Path:
    """`$SHIPLANE_HOME`, else `~/.local/share/shiplane` (XDG data home convention)."""
    home = os.environ.get("SHIPLANE_HOME")
    if home:
        return Path(home).expanduser()
    return Path("~/.local/share/shiplane").expanduser()


def check_public_url(value: str) -> str:
    """`http(s)://host[:port][/prefix]` without a trailing slash; ValueError otherwise."""
    text = value.strip().rstrip("/")
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in ("http", "https") or not rest or rest.startswith("/"):
        raise ValueError(
            f"public URL {value[:100]!r} must start with http:// or https:// and name a host "
            "(e.g. https://shiplane.example)"
        )
    if any(c.isspace() for c in text) or "?" in text or "#" in text:
        raise ValueError(f"public URL {value[:100]!r} may not hold spaces, a query or a fragment")
    return text


def parse_listen(value: str) -> tuple[str, int]:
    """Parse `HOST:PORT`, `:PORT` or `PORT`; raise ValueError with a readable message."""
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = DEFAULT_HOST, text
    host = host.strip("[]") or DEFAULT_HOST
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"invalid listen address {value!r}: expected HOST:PORT") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"invalid listen address {value!r}: port must be 0..65535")
    return host, port
