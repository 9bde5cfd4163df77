"""Local config commands: `validate`, `schema` and `init` (no server needed)."""

from __future__ import annotations

import asyncio
import json
import os
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from shiplane.config import (
    ConfigError,
    ScaffoldError,
    create_project,
    load_project,
    project_json_schema,
)
from shiplane.config.problems import ConfigProblem, format_path
from shiplane.config.yamlnodes import parse_yaml
from shiplane.localcluster.paths import PORTABLE_HOME, kubeconfig_in
from shiplane.targets.checking import check_targets, project_clients


def validate(
    file: Annotated[
        Path,
        typer.Argument(help="The project file, or a directory containing shiplane.yaml."),
    ] = Path("shiplane.yaml"),
) -> None:
    """Check a shiplane.yaml; print every problem as file:line:column: field: message."""
    target = file / "shiplane.yaml" if file.is_dir() else file
    try:
        config = load_project(target)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    if any(env.deploy.hands_off for env in config.environments.values()):
        # Hand-off environments name objects of their cluster's Flux or Argo CD: they
        # must exist (docs/handoff.md).
        clients = project_clients(config, target.parent)
        found = asyncio.run(check_targets(config, clients))
        if found:
            doc = parse_yaml(target.read_text())
            for item in found:
                pos = doc.position(item.path)
                located = ConfigProblem(
                    str(target), pos.line, pos.column, format_path(item.path), item.message
                )
                typer.echo(str(located), err=True)
            raise typer.Exit(1)
    typer.echo(f"ok: {target}: {len(config.apps)} apps, {len(config.environments)} environments")


def schema() -> None:
    """Print the JSON Schema of shiplane.yaml (for editors and other tools)."""
    typer.echo(json.dumps(project_json_schema(), indent=2))


def init(
    directory: Annotated[
        Path, typer.Argument(help="Directory of the new repository (created if missing).")
    ] = Path("."),
) -> None:
    """Scaffold a GitOps repository: shiplane.yaml, two example apps, envs/ and a first commit."""
    # Local clusters keep their kubeconfigs under the Shiplane home; `~` keeps the file
    # portable between users when the default home is used.
    home = os.environ.get("SHIPLANE_HOME") or PORTABLE_HOME
    try:
        create_project(directory, partial(kubeconfig_in, home))
    except ScaffoldError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {directory}: shiplane.yaml, apps/web, apps/api, envs/ (first commit made)")
    typer.echo(f"next: shiplane validate {directory / 'shiplane.yaml'}")
