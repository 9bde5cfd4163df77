"""Where an agent's object belongs, guessed from the repository path it applies. Pure;
shared by `shiplane import flux` and `shiplane import argocd`.

An environment name is the folder after `envs/`, `environments/` or `clusters/` (the app
then the folder after it), or the folder after `overlays/` (the app the folder before
it); without one, the caller's fallback (a target namespace) decides. Names are made
DNS-label-like, as shiplane.yaml wants them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENV_DIRS = ("envs", "environments", "clusters")
_NAME = re.compile(r"[^a-z0-9-]+")


def dns_name(text: str) -> str:
    """`Shop_Web` -> `shop-web` (at most 63 characters; `app` when nothing is left)."""
    return _NAME.sub("-", text.lower()).strip("-")[:63] or "app"


@dataclass(frozen=True)
class Placement:
    environment: str
    app: str
    path: str
    """The path, normalised (`./envs/dev/web/` -> `envs/dev/web`; `.` for the root)."""


def place_path(path: str, *, fallback_environment: str, name: str) -> Placement:
    """The environment and app of an object applying `path`; `name` (the object's) is
    the app when the path does not say, without an `-<env>` suffix or `<env>-` prefix."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    environment = None
    app = None
    for i, part in enumerate(parts):
        if part in ENV_DIRS and i + 1 < len(parts):
            environment = parts[i + 1]
            app = parts[i + 2] if i + 2 < len(parts) else None
            break
        if part == "overlays" and i + 1 < len(parts):
            environment = parts[i + 1]
            app = parts[i - 1] if i > 0 else None
            break
    environment = environment or fallback_environment
    if app is None:
        app = parts[-1] if parts and parts[-1] != environment else name
        app = app.removesuffix(f"-{environment}").removeprefix(f"{environment}-")
    return Placement(dns_name(environment), dns_name(app), "/".join(parts) or ".")
