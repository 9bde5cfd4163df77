"""The source kinds, one plugin each in the `SOURCES` registry (domain/registry.py),
registered with their config schema from `config.models.SOURCE_SCHEMAS`.

A plugin's `discover` looks once: it returns what the source selects now (`Found`) or
raises a ShiplaneError whose message is the reason the source is unhealthy. `last` is
what the source found on its previous look, passed by the service only while that
digest may be trusted without asking the registry again (docs/sources.md, "What a scan
requests"): a plugin whose choice is still `last.version` returns it with
`verified=False` instead of resolving the digest again.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import secrets
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import httpx
import yaml

from shiplane.config.models import (
    SOURCE_SCHEMAS,
    ChartSourceConfig,
    GitSourceConfig,
    ImageSourceConfig,
    RegistryAccess,
)
from shiplane.domain.errors import ExternalError, NotFoundError
from shiplane.domain.registry import Registry
from shiplane.sources.credentials import Credentials, load_credentials
from shiplane.sources.registry import (
    ManifestNotFoundError,
    RateLimiter,
    RegistryClient,
    RegistryError,
)
from shiplane.sources.registry_auth import AuthMemory
from shiplane.sources.selectors import TagFilter, candidates, newest_built


class NothingFoundError(NotFoundError):
    """The source has nothing that its selection accepts."""


@dataclass(frozen=True)
class Found:
    """What a source selects now. `artifact`: the image reference a release records
    (`repo:tag@sha256:...`) for image sources; a readable `name:version` or commit
    otherwise."""

    version: str
    digest: str | None
    artifact: str
    # False: the digest is the previous look's, reused without asking the registry.
    verified: bool = field(default=True, compare=False)


class RegistryClients:
    """Makes registry clients, sharing per host one rate limiter (the budget is the
    registry's, not a source's) and, per host and credentials, one `AuthMemory` (so a
    look does not pay the 401 round trip or the token flow the previous look paid).
    Credentials are read again for each client; the memory is found by a keyed hash of
    them (the key is random per process), so a rotated password starts afresh and no
    token serves other credentials."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._limiters: dict[str, RateLimiter] = {}
        self._auth: dict[tuple[str, str], AuthMemory] = {}
        self._key = secrets.token_bytes(32)
        self._transport = transport
        self.requests = 0  # made by clients this object made (for the benchmark)

    def client(self, host: str, access: RegistryAccess) -> RegistryClient:
        limiter = self._limiters.get(host)
        # Sources on one host that name different limits: the lowest applies to all.
        if limiter is None or 1.0 / access.rate_limit > limiter.interval:
            limiter = self._limiters[host] = RateLimiter(access.rate_limit)
        credentials = load_credentials(access.credentials, host)
        auth = self._auth.setdefault((host.lower(), self._fingerprint(credentials)), AuthMemory())
        return _CountingClient(
            self,
            host,
            credentials=credentials,
            ca_file=os.path.expanduser(access.ca_file) if access.ca_file else None,
            insecure=access.insecure,
            limiter=limiter,
            auth=auth,
            transport=self._transport,
        )

    def _fingerprint(self, credentials: Credentials | None) -> str:
        if credentials is None:
            return ""
        raw = f"{credentials.username}\0{credentials.password}".encode()
        return hmac.new(self._key, raw, hashlib.sha256).hexdigest()


class _CountingClient(RegistryClient):
    def __init__(self, owner: RegistryClients, host: str, **kw: Any) -> None:
        super().__init__(host, **kw)
        self._owner = owner

    async def aclose(self) -> None:
        self._owner.requests += self.requests
        await super().aclose()


class Discover(Protocol):
    """A source kind's look: its config (the kind's schema), the clients, and what it
    found last time when that may be reused (see the module's docstring)."""

    def __call__(
        self, config: Any, clients: RegistryClients, /, *, last: Found | None = None
    ) -> Awaitable[Found]: ...


SOURCES: Registry[Discover] = Registry("source")


@SOURCES.register("image", schema=SOURCE_SCHEMAS["image"], description="An OCI image repository")
async def discover_image(
    config: ImageSourceConfig, clients: RegistryClients, /, *, last: Found | None = None
) -> Found:
    """List tags (paginated), choose by the strategy, HEAD the choice for its digest.
    A tag deleted between the listing and the HEAD gives way to the next candidate.
    The choice still `last`'s tag: `last`'s digest, without the HEAD, except for the
    `digest` selection (a new digest behind its tag is what it follows)."""
    reuse = last if config.select != "digest" else None
    async with clients.client(config.host, config) as registry:
        tags = await registry.list_tags(config.path)
        picked = candidates(
            tags,
            strategy=config.select,
            constraint=config.constraint,
            strict=config.strict_semver,
            tag_filter=TagFilter(config.allow_tags, config.ignore_tags),
            limit=config.discovery_limit,
        )
        order = list(picked.tags)
        if picked.needs_created:
            created = {}
            for tag in order:
                try:
                    created[tag] = await registry.created(config.path, tag, config.platform)
                except ManifestNotFoundError:
                    created[tag] = None
            best = newest_built(created, order)
            order = [best] if best else []
        for tag in order:
            if reuse is not None and reuse.digest is not None and tag == reuse.version:
                return replace(reuse, verified=False)
            try:
                digest = await registry.resolve(config.path, tag, config.platform)
            except ManifestNotFoundError:
                continue  # deleted since the listing: the next candidate
            return Found(tag, digest, f"{config.repository}:{tag}@{digest}")
    what = f"{config.select} {config.constraint}" if config.constraint else config.select
    raise NothingFoundError(
        f"no tag of {config.repository} is selected by {what} "
        f"({len(tags)} tag(s) listed, {len(picked.tags)} candidate(s))"
    )


@SOURCES.register("chart", schema=SOURCE_SCHEMAS["chart"], description="A Helm chart")
async def discover_chart(
    config: ChartSourceConfig, clients: RegistryClients, /, *, last: Found | None = None
) -> Found:
    """The highest chart version within the constraint: from the repository's
    `index.yaml`, or from an OCI repository's tags (with the manifest digest; `last`'s
    when the version is still `last`'s)."""
    if config.repository.startswith("oci://"):
        host, _, path = config.repository.removeprefix("oci://").partition("/")
        repository = f"{path}/{config.name}".strip("/")
        async with clients.client(host, config) as registry:
            tags = await registry.list_tags(repository)
            picked = candidates(tags, constraint=config.constraint, limit=1)
            if picked.tags:
                tag = picked.tags[0]
                if last is not None and last.digest is not None and last.version == tag:
                    return replace(last, verified=False)
                digest = await registry.head_digest(repository, tag)
                return Found(tag, digest, f"{config.name}:{tag}")
        raise NothingFoundError(f"no version of chart {config.name} fits {config.constraint}")
    versions = await _index_versions(config)
    picked = candidates(versions, constraint=config.constraint, limit=1)
    if not picked.tags:
        raise NothingFoundError(
            f"no version of chart {config.name} in {config.repository} fits "
            f"{config.constraint or 'any version'} ({len(versions)} listed)"
        )
    version = picked.tags[0]
    return Found(version, versions[version], f"{config.name}:{version}")


def tls_verify(access: RegistryAccess) -> ssl.SSLContext | bool:
    """The custom CA when configured, the system store otherwise."""
    if access.ca_file is None:
        return True
    return ssl.create_default_context(cafile=os.path.expanduser(access.ca_file))


async def _index_versions(config: ChartSourceConfig) -> dict[str, str | None]:
    url = config.repository.rstrip("/") + "/index.yaml"
    verify = tls_verify(config)
    try:
        # No redirects: the repository's host is the only host (docs/sources.md).
        async with httpx.AsyncClient(timeout=15, verify=verify, follow_redirects=False) as http:
            auth = load_credentials(config.credentials, httpx.URL(url).host)
            headers = {"Authorization": auth.basic()} if auth else {}
            response = await http.get(url, headers=headers)
    except httpx.TransportError as exc:
        raise ExternalError(f"cannot reach {url}: {exc}", retryable=True) from None
    if response.status_code != 200:
        raise ExternalError(f"{url} answered {response.status_code}")
    try:
        index = yaml.safe_load(response.text)
    except yaml.YAMLError:
        raise ExternalError(f"{url} is not YAML") from None
    entries = (index or {}).get("entries", {}).get(config.name) if isinstance(index, dict) else None
    if not isinstance(entries, list):
        raise NothingFoundError(f"chart {config.name} is not in {url}")
    return {
        str(e["version"]): e.get("digest")
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("version"), str)
    }


@SOURCES.register("git", schema=SOURCE_SCHEMAS["git"], description="A git branch or tags")
async def discover_git(
    config: GitSourceConfig, clients: RegistryClients, /, *, last: Found | None = None
) -> Found:
    """`git ls-remote` (no clone): the branch head, or the newest matching tag (one call
    whatever `last` is: it names the commits)."""
    pattern = "refs/tags/*" if config.tags is not None else f"refs/heads/{config.branch or 'main'}"
    process = await asyncio.create_subprocess_exec(
        "git",
        "ls-remote",
        "--",
        config.url,
        pattern,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ExternalError(f"git ls-remote {config.url} timed out", retryable=True) from None
    if process.returncode != 0:
        first = err.decode(errors="replace").strip().splitlines()[:1]
        raise ExternalError(f"git ls-remote {config.url} failed: {' '.join(first)}")
    refs: dict[str, str] = {}
    for line in out.decode().splitlines():
        sha, _, ref = line.partition("\t")
        if ref.endswith("^{}"):
            refs[ref[:-3]] = sha  # a peeled annotated tag: the commit it names
        else:
            refs.setdefault(ref, sha)
    if config.tags is None:
        ref = pattern
        if ref not in refs:
            raise NothingFoundError(f"{config.url} has no branch {config.branch or 'main'}")
        return Found(refs[ref][:12], refs[ref], f"{ref.removeprefix('refs/heads/')}@{refs[ref]}")
    tags = [r.removeprefix("refs/tags/") for r in refs if re.search(config.tags, r[10:])]
    # Semver order when the tags read as versions, lexical otherwise.
    by_version = candidates(tags, strict=False, limit=1).tags
    tag = by_version[0] if by_version else (sorted(tags)[-1] if tags else None)
    if tag is None:
        raise NothingFoundError(f"no tag of {config.url} matches {config.tags}")
    sha = refs[f"refs/tags/{tag}"]
    return Found(tag, sha, f"{tag}@{sha}")


__all__ = [
    "SOURCES",
    "Discover",
    "Found",
    "NothingFoundError",
    "RegistryClients",
    "RegistryError",
    "discover_chart",
    "discover_git",
    "discover_image",
]
