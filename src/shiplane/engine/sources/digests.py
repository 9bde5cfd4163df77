"""Immutable means digests: a release created with an image tag is resolved to the
manifest digest against the registry before it is stored (`releases.digests`).

- `require`: every tag must resolve, or the release is refused (a tag the registry does
  not have: invalid input; a registry that fails: an external error, retryable);
- `prefer`: a tag that resolves is recorded as `repo:tag@digest`; one that cannot be is
  recorded as given and the artifact shows `unresolved: true` (the reason is logged);
- `off` (the default, so that a project that set nothing keeps storing what it is
  given, and a release is never delayed by a registry it cannot reach): the references
  are stored as given, tag-only ones shown as unresolved.

The digest becomes part of the release's contents (and so of its id): a tag that moved
makes a new release, never the old one. Only the host the reference names is asked (it
is an app's image repository unless `releases.allowImageOverrides`), with the access
(credentials, CA, rate limit) of an image source on that host when there is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import structlog

from shiplane.config.models import (
    ImageSourceConfig,
    ProjectConfig,
    RegistryAccess,
    split_repository,
)
from shiplane.domain.errors import ExternalError, InvalidError, ShiplaneError
from shiplane.domain.releases import parse_image_ref
from shiplane.sources.plugins import RegistryClients
from shiplane.sources.registry import ManifestNotFoundError

log = structlog.get_logger(__name__)


class DigestRequiredError(InvalidError):
    """`releases.digests: require` and a tag the registry does not have."""


class DigestUnavailableError(ExternalError):
    """`releases.digests: require` and the registry could not be asked."""


@dataclass
class Resolution:
    artifacts: dict[str, str]
    unresolved: dict[str, str] = field(default_factory=dict)  # app -> why


def access_for(project: ProjectConfig, repository: str) -> RegistryAccess:
    """The access settings of the image source for `repository`, else of any image
    source on its host, else anonymous over https with the system CAs."""
    host = split_repository(repository)[0]
    on_host = None
    for source in project.sources.values():
        spec = source.spec
        if isinstance(spec, ImageSourceConfig):
            if spec.repository == repository:
                return spec
            if spec.host == host and on_host is None:
                on_host = spec
    return on_host or RegistryAccess()


async def resolve_release_digests(
    project: ProjectConfig,
    artifacts: Mapping[str, str],
    clients: RegistryClients | None = None,
) -> Resolution:
    """The artifacts with every tag-only reference resolved per `releases.digests`.
    References that do not parse are left for the release validation to refuse."""
    policy = project.releases.digests
    result = Resolution(dict(artifacts))
    if policy == "off":
        return result
    clients = clients or RegistryClients()
    for app, text in artifacts.items():
        try:
            ref = parse_image_ref(text)
        except ShiplaneError:
            continue
        if ref.digest is not None or ref.tag is None:
            continue
        host, path = split_repository(ref.name)
        try:
            async with clients.client(host, access_for(project, ref.name)) as registry:
                digest = await registry.head_digest(path, ref.tag)
        except ManifestNotFoundError:
            why = f"{ref.name}:{ref.tag} does not exist in the registry"
            if policy == "require":
                raise DigestRequiredError(
                    f"artifacts.{app}: {why}",
                    hint="push the image first, or give its digest",
                ) from None
            result.unresolved[app] = why
            continue
        except ShiplaneError as exc:
            if policy == "require":
                raise DigestUnavailableError(
                    f"artifacts.{app}: cannot resolve {text} to a digest: {exc}",
                    retryable=getattr(exc, "retryable", False),
                ) from None
            result.unresolved[app] = str(exc)
            continue
        result.artifacts[app] = f"{text}@{digest}"
    for app, why in result.unresolved.items():
        # The release shows `unresolved`; why it could not be resolved is said here.
        log.warning("release.digest_unresolved", app=app, reference=artifacts[app], reason=why)
    return result
