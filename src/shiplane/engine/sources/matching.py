"""Which configured sources watch a registry repository or a git ref (for receivers)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from shiplane.config.models import (
    ChartSourceConfig,
    GitSourceConfig,
    ImageSourceConfig,
    SourceConfig,
)


def image_and_chart_sources(
    sources: Mapping[str, SourceConfig], host: str, repository: str
) -> list[str]:
    """Sources watching `host` (as configured, without case) and `repository`."""
    host, repository = host.lower(), repository.strip("/")
    names = []
    for name, source in sources.items():
        spec = source.spec
        if isinstance(spec, ImageSourceConfig):
            if (spec.host, spec.path) == (host, repository):
                names.append(name)
        elif isinstance(spec, ChartSourceConfig) and spec.repository.startswith("oci://"):
            chart_host, _, path = spec.repository.removeprefix("oci://").partition("/")
            chart_repo = f"{path.strip('/')}/{spec.name}".strip("/")
            if (chart_host.lower(), chart_repo) == (host, repository):
                names.append(name)
    return sorted(names)


def normalise_git_url(url: str) -> str:
    """`https://Git.Example/shop/config.git/` and `git@git.example:shop/config` -> one
    form: host (lower case) and path, without scheme, user, `.git` or slashes."""
    text = url.strip()
    scp = re.match(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$", text)
    if scp and "://" not in text:
        host, path = scp.group(1), scp.group(2)
    elif "://" in text:
        rest = text.split("://", 1)[1]
        hostpart, _, path = rest.partition("/")
        host = hostpart.rsplit("@", 1)[-1]
    else:
        return text.rstrip("/").removesuffix(".git")  # a local path
    return f"{host.lower()}/{path.strip('/').removesuffix('.git')}"


def git_sources(sources: Mapping[str, SourceConfig], url: str, ref: str | None) -> list[str]:
    """Git sources of `url` whose branch (or tag pattern) takes `ref`."""
    wanted = normalise_git_url(url)
    names = []
    for name, source in sources.items():
        spec = source.spec
        if not isinstance(spec, GitSourceConfig) or normalise_git_url(spec.url) != wanted:
            continue
        if ref is None or _takes(spec, ref):
            names.append(name)
    return sorted(names)


def _takes(spec: GitSourceConfig, ref: str) -> bool:
    if ref.startswith("refs/tags/"):
        return spec.tags is not None and re.search(spec.tags, ref[10:]) is not None
    branch = ref.removeprefix("refs/heads/")
    if spec.tags is not None:
        # A bare name may be a tag too.
        return not ref.startswith("refs/heads/") and re.search(spec.tags, branch) is not None
    return branch == (spec.branch or "main")
