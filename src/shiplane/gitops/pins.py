"""Environment pins: the only file Shiplane writes in the GitOps repository. Pure.

`envs/<env>/<app>/shiplane.pin.yaml` says which release an environment runs for an app:

    # written by Shiplane; do not edit
    apiVersion: shiplane/v1alpha1
    kind: Pin
    app: checkout
    release: rel-3f9c2a...
    alias: 1.4.2
    images:
    - repository: registry.example/shop/checkout
      ref: registry.example/shop/checkout:1.4.2@sha256:...
      digest: sha256:...
    chart:                      # when the release pins the app's chart version
      name: checkout
      version: 2.0.1
      digest: sha256:...        # when known
    config:                     # when the release pins a config commit
      commit: 0123456789abcdef0123456789abcdef01234567

`dump_pin` is deterministic (fixed key order, images sorted by repository), so writing
the same pin twice produces the same bytes and no commit. Pins written before charts and
commits were release contents (with `chartVersion`, or neither) still load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shiplane.domain.releases import ImageRefError, parse_image_ref
from shiplane.gitops.errors import PinError
from shiplane.gitops.messages import check_trailer

PIN_FILE = "shiplane.pin.yaml"
PIN_API_VERSION = "shiplane/v1alpha1"
HEADER = "# written by Shiplane; do not edit\n"

TRAILER_PROMOTION = "Shiplane-Promotion"
TRAILER_RELEASE = "Shiplane-Release"
TRAILER_ACTOR = "Shiplane-Actor"

_SHORT_RELEASE = 10  # "rel-" + 6 hex, as in DESIGN.md's "(rel-3f9c2a)"


class PinImage(BaseModel):
    """One image of the release: the repository it replaces and the exact reference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repository: str = Field(min_length=1)
    """Repository without tag or digest, as listed in the app's `images`."""
    ref: str = Field(min_length=1)
    """Full reference deployed: `repository:tag`, `repository@digest` or both."""
    digest: str | None = None
    """`sha256:<hex>` when known."""

    @model_validator(mode="after")
    def _consistent(self) -> PinImage:
        try:
            parsed = parse_image_ref(self.ref)
        except ImageRefError as exc:
            raise ValueError(str(exc)) from None
        if parsed.name != self.repository:
            raise ValueError(f"ref {self.ref!r} is not an image of repository {self.repository!r}")
        if self.digest is not None:
            if not self.digest.startswith("sha256:") or len(self.digest) != 71:
                raise ValueError(f"digest {self.digest!r} is not sha256:<64 hex>")
            if parsed.digest is not None and parsed.digest != self.digest.lower():
                raise ValueError(f"ref {self.ref!r} has a different digest than {self.digest}")
        return self

    @property
    def image(self) -> str:
        """What goes into a container's `image`: the ref, with the digest when known."""
        if self.digest is not None and "@" not in self.ref:
            return f"{self.ref}@{self.digest}"
        return self.ref


class PinChart(BaseModel):
    """The exact chart the app's manifests are rendered from (instead of the vendored
    chart at `manifests.path`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    digest: str | None = None
    """`sha256:<hex>` of the chart when known: a pull is verified against it."""


class PinConfig(BaseModel):
    """The GitOps repository commit whose `manifests.path` the app is rendered from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commit: str = Field(pattern=r"^([0-9a-f]{40}|[0-9a-f]{64})$")


class Pin(BaseModel):
    """What an environment runs for one app."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    api_version: Literal["shiplane/v1alpha1"] = Field(
        default="shiplane/v1alpha1", alias="apiVersion"
    )
    kind: Literal["Pin"] = "Pin"
    app: str = Field(min_length=1)
    release: str = Field(min_length=1)
    """Release id (`rel-...`)."""
    alias: str | None = None
    """The release's readable alias (often the version)."""
    images: tuple[PinImage, ...] = ()
    chart_version: str | None = Field(default=None, alias="chartVersion")
    """Written by older versions (informational); `chart` is what renders."""
    chart: PinChart | None = None
    config: PinConfig | None = None

    @field_validator("images")
    @classmethod
    def _sorted_unique(cls, images: tuple[PinImage, ...]) -> tuple[PinImage, ...]:
        repos = [i.repository for i in images]
        duplicates = sorted({r for r in repos if repos.count(r) > 1})
        if duplicates:
            raise ValueError(f"repository listed more than once: {', '.join(duplicates)}")
        return tuple(sorted(images, key=lambda i: i.repository))


def pin_path(environment: str, app: str) -> str:
    """Repository-relative path of the pin of (environment, app)."""
    for what, name in (("environment", environment), ("app", app)):
        if not name or "/" in name or name in {".", ".."} or name.startswith("."):
            raise ValueError(f"invalid {what} name {name!r} for a pin path")
    return f"envs/{environment}/{app}/{PIN_FILE}"


def dump_pin(pin: Pin) -> bytes:
    doc: dict[str, Any] = {
        "apiVersion": pin.api_version,
        "kind": pin.kind,
        "app": pin.app,
        "release": pin.release,
    }
    if pin.alias is not None:
        doc["alias"] = pin.alias
    images = []
    for image in pin.images:
        entry = {"repository": image.repository, "ref": image.ref}
        if image.digest is not None:
            entry["digest"] = image.digest
        images.append(entry)
    doc["images"] = images
    if pin.chart_version is not None:
        doc["chartVersion"] = pin.chart_version
    if pin.chart is not None:
        chart = {"name": pin.chart.name, "version": pin.chart.version}
        if pin.chart.digest is not None:
            chart["digest"] = pin.chart.digest
        doc["chart"] = chart
    if pin.config is not None:
        doc["config"] = {"commit": pin.config.commit}
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1000)
    return (HEADER + body).encode()


def load_pin(data: bytes, *, source: str = PIN_FILE) -> Pin:
    """Parse a pin file; PinError says which field is wrong and why."""
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PinError(f"{source}: not UTF-8 text ({exc.reason})") from None
    except yaml.YAMLError as exc:
        raise PinError(f"{source}: invalid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise PinError(f"{source}: expected a mapping with app, release and images")
    try:
        return Pin.model_validate(doc)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"{where}: {err['msg']}")
        raise PinError(f"{source}: " + "; ".join(problems)) from None


def promotion_message(
    app_or_apps: str | Sequence[str],
    version_label: str | None,
    release_id: str,
    environment: str,
) -> str:
    """Subject line: `promote checkout 1.4.2 (rel-3f9c2a) to staging`.

    Several apps (a release train) are joined with ", " in the given order.
    """
    apps = [app_or_apps] if isinstance(app_or_apps, str) else list(app_or_apps)
    if not apps:
        raise ValueError("a promotion message needs at least one app")
    parts = ["promote", ", ".join(apps)]
    if version_label:
        parts.append(version_label)
    parts.append(f"({release_id[:_SHORT_RELEASE]})")
    parts += ["to", environment]
    return " ".join(parts)


def promotion_trailers(promotion_id: str, release_id: str, actor: str) -> Mapping[str, str]:
    """The trailers of a promotion commit, in DESIGN.md's order."""
    trailers = {
        TRAILER_PROMOTION: promotion_id,
        TRAILER_RELEASE: release_id,
        TRAILER_ACTOR: actor,
    }
    for key, value in trailers.items():
        check_trailer(key, value)
    return trailers
