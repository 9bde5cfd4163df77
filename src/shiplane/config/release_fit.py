"""Does a release fit the project? Its apps are defined, its images are the apps' own.

A release names `{app: image reference}`. An app that shiplane.yaml does not define can
never be promoted, and an image from another repository than the app's `images` would
deploy something the manifests were never written for (or, pinned by repository, not be
used at all). Both are refused when the release is created, with what is allowed;
`releases.allowImageOverrides: true` lets images from other repositories through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from shiplane.domain.errors import InvalidError
from shiplane.domain.releases import ImageRefError, parse_image_ref
from shiplane.domain.suggest import closest

if TYPE_CHECKING:
    from shiplane.config.models.project import ProjectConfig

_SHOWN = 10


class ReleaseMisfitError(InvalidError):
    """A release names an app the project does not define, or an image that is not the app's."""


def _listing(names: list[str]) -> str:
    return ", ".join(names[:_SHOWN]) + (", ..." if len(names) > _SHOWN else "")


def check_release_fits(
    project: ProjectConfig,
    artifacts: Mapping[str, str],
    charts: Mapping[str, str] | None = None,
) -> None:
    """Raise ReleaseMisfitError naming the first app, image or chart that does not fit.
    A chart version is only for an app with `chart` in shiplane.yaml (it names the chart
    the version is of)."""
    defined = list(project.apps)
    for app in sorted(artifacts):
        if app not in project.apps:
            match = closest(app, defined)
            hint = f"did you mean '{match}'? " if match else ""
            hint += f"defined apps: {_listing(defined)}" if defined else "no apps are defined"
            raise ReleaseMisfitError(
                f"artifacts.{app}: app {app!r} is not defined in shiplane.yaml",
                hint=hint,
                details={"field": f"body.artifacts.{app}", "allowed": defined[:_SHOWN]},
            )
    for app in sorted(charts or {}):
        if app in project.apps and project.apps[app].chart is None:
            raise ReleaseMisfitError(
                f"charts.{app}: app {app!r} has no chart in shiplane.yaml, so a chart "
                "version means nothing for it",
                hint=f"set apps.{app}.chart: {{repository, name}} (and manifests.render: "
                "helm) or leave the chart out",
                details={"field": f"body.charts.{app}"},
            )
    if project.releases.allow_image_overrides:
        return
    for app in sorted(artifacts):
        allowed = list(project.apps[app].images)
        if not allowed:  # a chart-only app: its release names the chart's version
            continue
        try:
            repository = parse_image_ref(artifacts[app]).name
        except ImageRefError:
            continue  # reported by release validation, with the reason
        if repository not in allowed:
            raise ReleaseMisfitError(
                f"artifacts.{app}: image repository {repository!r} is not one that app "
                f"{app!r} deploys",
                hint=f"apps.{app}.images allows: {_listing(allowed)} (set "
                "releases.allowImageOverrides: true in shiplane.yaml to allow others)",
                details={"field": f"body.artifacts.{app}", "allowed": allowed[:_SHOWN]},
            )
