"""Release contents beyond images: chart versions and config commits. Pure, no I/O.

A release names, per app, an image (always: `releases.parse_artifacts`), and may name
- a chart version: `charts: {app: "VERSION"}` or `"VERSION@sha256:<64 hex>"` when the
  chart's digest is known (an `index.yaml` digest of the packaged chart, or an OCI
  chart's manifest digest); the deploy renders that exact chart version;
- a config commit: `commits: {app: "<40 hex>"}`: the app's manifests (`manifests.path`)
  are read as they were at that commit of the GitOps repository.

Every chart or commit entry is for an app the release has an image for (an app of a
release always has an image, so the apps of a release stay the keys of its artifacts).
Whether the app may have a chart at all (`apps.<app>.chart`) is the project's rule
(`config/release_fit.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from shiplane.domain.releases import ReleaseValidationError, validate_app_name

# SemVer 2 as Helm reads chart versions (a leading "v" tolerated, as helm does).
_CHART_VERSION = re.compile(
    r"v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_DIGEST = re.compile(r"sha256:[0-9a-fA-F]{64}")
_COMMIT = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class ChartPin:
    """A chart version a release deploys, with the chart's digest when known."""

    version: str
    digest: str | None = None  # "sha256:<64 lowercase hex>"

    @property
    def text(self) -> str:
        """The canonical text the release id hashes: `VERSION[@sha256:...]`."""
        return f"{self.version}@{self.digest}" if self.digest else self.version


def parse_chart(text: str, *, app: str = "") -> ChartPin:
    """`1.4.2` or `1.4.2@sha256:<64 hex>` (the digest's hex is lowercased)."""
    where = f"app {app!r}: " if app else ""
    version, sep, digest = text.partition("@")
    if not _CHART_VERSION.fullmatch(version):
        raise ReleaseValidationError(
            f"{where}invalid chart version {text!r}: expected a semantic version "
            "MAJOR.MINOR.PATCH[-pre][+build], optionally @sha256:<64 hex>"
        )
    if sep:
        if not digest.startswith("sha256:") and re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            digest = "sha256:" + digest  # an index.yaml digest is bare hex
        if not _DIGEST.fullmatch(digest):
            raise ReleaseValidationError(
                f"{where}invalid chart digest {digest!r}: expected sha256:<64 hex>"
            )
        return ChartPin(version, digest.lower())
    return ChartPin(version)


def parse_commit(text: str, *, app: str = "") -> str:
    """A full commit sha (40 hex, or 64 in a SHA-256 repository), lowercased."""
    if not _COMMIT.fullmatch(text):
        where = f"app {app!r}: " if app else ""
        raise ReleaseValidationError(
            f"{where}invalid commit {text!r}: expected a full commit sha (40 hex characters)"
        )
    return text.lower()


@dataclass(frozen=True, slots=True)
class Contents:
    """The canonical chart and commit texts of a release (empty when it has none)."""

    charts: dict[str, str]
    commits: dict[str, str]


def parse_contents(
    apps: list[str] | set[str] | frozenset[str],
    charts: Mapping[str, str] | None,
    commits: Mapping[str, str] | None,
) -> Contents:
    """Validate the chart and commit entries of a release whose images name `apps`;
    canonical texts, sorted by app."""
    out: dict[str, dict[str, str]] = {"chart": {}, "commit": {}}
    for what, entries in (("chart", charts or {}), ("commit", commits or {})):
        for app in sorted(entries):
            validate_app_name(app)
            if app not in apps:
                raise ReleaseValidationError(
                    f"{what}s.{app}: the release has no image for app {app!r} (a {what} "
                    "goes with an app's image: name the image too, e.g. "
                    f"{app}=registry/repo:tag)"
                )
            value = entries[app]
            if not isinstance(value, str) or value != value.strip():
                raise ReleaseValidationError(
                    f"{what}s.{app}: {value!r} is not a {what} (no surrounding whitespace)"
                )
            out[what][app] = (
                parse_chart(value, app=app).text
                if what == "chart"
                else parse_commit(value, app=app)
            )
    return Contents(charts=out["chart"], commits=out["commit"])
