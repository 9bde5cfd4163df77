"""Commands that talk to the API server (and `serve`, which runs it).

Each command group lives in its own `cmd_*.py` module; this module only registers them.
"""

from __future__ import annotations

import typer

from shiplane.cli import (
    cmd_audit,
    cmd_deploy,
    cmd_login,
    cmd_notify,
    cmd_promotion,
    cmd_release,
    cmd_replicas,
    cmd_serve,
    cmd_status,
    cmd_token,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("serve")(cmd_serve.serve)
    app.command("login")(cmd_login.login)
    app.command("status")(cmd_status.status)
    app.command("sync")(cmd_deploy.sync)
    app.command("diff")(cmd_deploy.diff)
    app.command("history")(cmd_deploy.history)
    app.command("replicas")(cmd_replicas.replicas)
    app.add_typer(cmd_release.release_app)
    app.add_typer(cmd_audit.audit_app)
    app.add_typer(cmd_token.token_app)
    app.add_typer(cmd_notify.notifications_app)
    cmd_promotion.register(app)
