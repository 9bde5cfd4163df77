"""What a deploy or sync will do, decided before anything is recorded: which apps, with
which pin, in which order. Pure apart from reading pin files of an exported git tree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiplane.config.models import AppConfig, ProjectConfig
from shiplane.config.models.project import UnknownNameError
from shiplane.domain.release_contents import parse_chart
from shiplane.engine.deploy.errors import DeployNotFoundError, DeployRequestError
from shiplane.gitops.errors import PinError
from shiplane.gitops.pins import Pin, PinChart, PinConfig, PinImage, load_pin, pin_path
from shiplane.kube.refs import ObjRef
from shiplane.store.records import ReleaseRecord


@dataclass
class AppPlan:
    """One app of a run: its config, its pin, and what the render step made of it."""

    app: str
    config: AppConfig
    pin: Pin | None  # None: the manifests as they are in git, no release pinned
    objects: list[dict[str, Any]] = field(default_factory=list)
    # resourceVersions seen by the dry-run of exactly these objects (None: not dry-run
    # since the last render); lets apply skip its GET per object.
    live_versions: dict[ObjRef, str | None] | None = None
    # The dry-run's answer per object (what it would be after apply), for the same
    # objects; apply does not send those that answered exactly the live object.
    predicted: dict[ObjRef, dict[str, Any]] | None = None
    # Objects not dry-run because they are in effect as sent (known_applied.py): apply
    # does not send them either.
    in_effect: frozenset[ObjRef] = frozenset()


def pin_for(release: ReleaseRecord, app: str, config: AppConfig | None = None) -> Pin:
    """The pin that makes `app` run `release`: its images, and the chart version and
    config commit when the release names them (the chart's name is the app's `chart`)."""
    images = [
        PinImage(repository=a.image, ref=a.ref, digest=a.digest or a.resolved_digest)
        for a in release.artifacts
        if a.app == app
    ]
    chart: PinChart | None = None
    if app in release.charts:
        pinned = parse_chart(release.charts[app], app=app)
        name = config.chart.name if config is not None and config.chart is not None else app
        chart = PinChart(name=name, version=pinned.version, digest=pinned.digest)
    commit = release.commits.get(app)
    return Pin(
        app=app,
        release=release.id,
        alias=release.alias,
        images=tuple(images),
        chart=chart,
        config=PinConfig(commit=commit) if commit else None,
    )


def check_environment(project: ProjectConfig, environment: str) -> None:
    """The project's one unknown-name check, as a deploy error of the plan step."""
    try:
        project.require_environment(environment)
    except UnknownNameError as exc:
        raise DeployNotFoundError.of(exc) from None


def release_plans(
    project: ProjectConfig, release: ReleaseRecord, apps: Sequence[str] | None
) -> list[AppPlan]:
    """The apps of `release` to deploy (all, or `apps`), in the project's order."""
    unknown = [a for a in release.apps if a not in project.apps]
    if unknown:
        raise DeployRequestError(
            f"release {release.id} names apps that shiplane.yaml does not define: "
            + ", ".join(unknown)
        )
    chosen = list(apps) if apps else release.apps
    missing = [a for a in chosen if a not in release.apps]
    if missing:
        raise DeployRequestError(f"release {release.id} has no artifact for: {', '.join(missing)}")
    order = project.app_order()
    return [
        AppPlan(app, project.apps[app], pin_for(release, app, project.apps[app]))
        for app in sorted(chosen, key=order.index)
    ]


def tree_plans(
    project: ProjectConfig, environment: str, tree: Path, apps: Sequence[str] | None
) -> list[AppPlan]:
    """The apps git says are part of `environment` (all, or `apps`), with their pins."""
    names = list(apps) if apps else project.app_order()
    try:
        project.require_apps(names)
    except UnknownNameError as exc:
        raise DeployNotFoundError.of(exc) from None
    plans: list[AppPlan] = []
    for app in names:
        path = tree / pin_path(environment, app)
        pin: Pin | None = None
        if path.is_file():
            try:
                pin = load_pin(path.read_bytes(), source=pin_path(environment, app))
            except PinError as exc:
                raise DeployRequestError(str(exc)) from None
        elif not path.parent.is_dir():
            # An app is part of an environment once envs/<env>/<app>/ exists: with a
            # pin (written by promotions) or without (the manifests as they are).
            if apps:
                raise DeployRequestError(
                    f"{app!r} is not in environment {environment!r}: envs/{environment}/"
                    f"{app}/ does not exist in git (promote a release or create it)"
                )
            continue
        plans.append(AppPlan(app, project.apps[app], pin))
    return plans


def dependency_levels(project: ProjectConfig, apps: Sequence[str]) -> list[list[str]]:
    """Apps grouped so that each app's dependsOn (within `apps`) is in an earlier group;
    the apps of one group have no dependency on each other."""
    remaining = [a for a in project.app_order() if a in apps]
    done: set[str] = set()
    levels: list[list[str]] = []
    while remaining:
        level = [
            a
            for a in remaining
            if all(d in done or d not in apps for d in project.apps[a].depends_on)
        ]
        levels.append(level)
        done.update(level)
        remaining = [a for a in remaining if a not in done]
    return levels
