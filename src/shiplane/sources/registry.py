"""An async client of the OCI distribution API, for one registry host.

The cheap path (docs/sources.md): `tags/list` with the registry's pagination, then a HEAD
of the chosen manifest for its digest; a manifest or config blob is fetched only when a
selection needs it (newest build, a platform of an index).

The host rule: the client talks only to the host it was made for. A `Link` to the next
tag page, or a redirect of a manifest or tag request, must name that scheme, host and
port. A token realm must be on that host (any port), or a sibling on the same parent
domain, as `auth.docker.io` is for `registry-1.docker.io`. Anything else is refused with
RegistryError. A blob redirect (registries hand blobs to a storage CDN) is followed to
any https host, without credentials, and the blob is checked against its digest.
Credentials never leave the configured host (and its checked realm) and never appear in
an error or a log line.

Authentication follows the registry's challenge, remembered across clients by an
`AuthMemory` (sources/registry_auth.py): a host that asked for basic auth gets it with
the first request, and bearer tokens are reused per scope until they expire.

Every request passes the host's rate limiter; a 429 or 5xx answer is retried with
back-off (honouring Retry-After) a few times before it becomes a retryable error.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from shiplane.domain.errors import ExternalError, NotFoundError
from shiplane.sources.credentials import Credentials
from shiplane.sources.registry_auth import AuthMemory, BearerRealm, Challenge, same_site

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
CREATED_ANNOTATION = "org.opencontainers.image.created"

_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
RETRIES = 3
MAX_BACKOFF = 30.0


class RegistryError(ExternalError):
    """The registry failed, refused us, or answered outside the host rule."""


class ManifestNotFoundError(NotFoundError):
    """No manifest for that tag or digest (deleted between listing and HEAD, say)."""


class RateLimiter:
    """At most `rate` requests per second, spread evenly (shared by every client of a
    host, so many sources on one registry do not add up past its limit)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            await asyncio.sleep(wait)


@dataclass(frozen=True)
class Manifest:
    media_type: str
    digest: str
    body: Mapping[str, Any]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES or "manifests" in self.body


class RegistryClient:
    """One registry host. `transport` is for tests of the protocol logic only."""

    def __init__(
        self,
        host: str,
        *,
        credentials: Credentials | None = None,
        ca_file: str | None = None,
        insecure: bool = False,
        limiter: RateLimiter | None = None,
        auth: AuthMemory | None = None,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.host = host.lower()
        self.base = f"{'http' if insecure else 'https'}://{self.host}"
        self.credentials = credentials
        self.limiter = limiter or RateLimiter(20.0)
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            verify = ssl.create_default_context(cafile=ca_file)
        self._http = httpx.AsyncClient(
            timeout=timeout, verify=verify, follow_redirects=False, transport=transport
        )
        # Shared by the clients of one host and credentials (RegistryClients), so a
        # look does not start with a 401 the previous look already answered.
        self.auth = auth or AuthMemory()
        self.requests = 0  # made to the registry (for the benchmark and tests)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- the API ---------------------------------------------------------------------

    async def list_tags(self, repository: str, *, page_size: int | None = None) -> list[str]:
        """Every tag of `repository`, following the `Link` header's next pages."""
        url = f"{self.base}/v2/{repository}/tags/list"
        if page_size:
            url += f"?n={page_size}"
        tags: list[str] = []
        for _ in range(10_000):  # a guard against a registry that links in circles
            response = await self._request("GET", url, repository)
            if response.status_code == 404:
                raise RegistryError(f"repository {self.host}/{repository} does not exist")
            self._expect_ok(response, f"listing the tags of {repository}")
            page = _json(response, "tag list")
            tags.extend(t for t in page.get("tags") or [] if isinstance(t, str))
            found = _LINK_NEXT.search(response.headers.get("link", ""))
            if not found:
                return tags
            url = self._same_host(urljoin(url, found.group(1)), "the next tag page")
        raise RegistryError(f"the tag list of {repository} does not end")

    async def head_digest(self, repository: str, reference: str) -> str:
        """The digest of the manifest `reference` (tag or digest) names, from a HEAD;
        ManifestNotFoundError when it does not exist (any more)."""
        url = f"{self.base}/v2/{repository}/manifests/{reference}"
        headers = {"Accept": ", ".join(MANIFEST_TYPES)}
        response = await self._request("HEAD", url, repository, headers)
        if response.status_code == 404:
            raise ManifestNotFoundError(f"{self.host}/{repository}:{reference} does not exist")
        self._expect_ok(response, f"resolving {repository}:{reference}")
        digest = str(response.headers.get("docker-content-digest", ""))
        if digest.startswith("sha256:"):
            return digest
        return (await self.manifest(repository, reference)).digest

    async def manifest(self, repository: str, reference: str) -> Manifest:
        url = f"{self.base}/v2/{repository}/manifests/{reference}"
        headers = {"Accept": ", ".join(MANIFEST_TYPES)}
        response = await self._request("GET", url, repository, headers)
        if response.status_code == 404:
            raise ManifestNotFoundError(f"{self.host}/{repository}:{reference} does not exist")
        self._expect_ok(response, f"reading the manifest {repository}:{reference}")
        digest = "sha256:" + hashlib.sha256(response.content).hexdigest()
        if reference.startswith("sha256:") and reference != digest:
            raise RegistryError(f"the manifest {reference} does not match its digest")
        body = _json(response, "manifest")
        media = body.get("mediaType") or response.headers.get("content-type", "").split(";")[0]
        return Manifest(str(media), digest, body)

    async def blob_json(self, repository: str, digest: str) -> dict[str, Any]:
        """A JSON blob (an image config), checked against its digest."""
        url = f"{self.base}/v2/{repository}/blobs/{digest}"
        response = await self._request("GET", url, repository)
        if response.status_code in (301, 302, 303, 307, 308):
            # Blob storage may live elsewhere (a CDN): no credentials go there, and the
            # content must match the digest, so the other host cannot change it.
            location = urljoin(url, response.headers.get("location", ""))
            if urlsplit(location).scheme not in ("https", urlsplit(self.base).scheme):
                raise RegistryError("a blob redirect to a non-https URL was refused")
            await self.limiter.acquire()
            self.requests += 1
            response = await self._http.get(location)
        self._expect_ok(response, f"reading the blob {digest}")
        if "sha256:" + hashlib.sha256(response.content).hexdigest() != digest:
            raise RegistryError(f"the blob {digest} does not match its digest")
        return _json(response, "blob")

    async def resolve(self, repository: str, reference: str, platform: str | None = None) -> str:
        """The digest a release records for `reference`: the manifest's, or with a
        `platform` and an index, that platform's manifest (HEAD only when no platform)."""
        if platform is None:
            return await self.head_digest(repository, reference)
        found = await self.manifest(repository, reference)
        return platform_manifest(found, platform) if found.is_index else found.digest

    async def created(
        self, repository: str, reference: str, platform: str | None = None
    ) -> datetime | None:
        """When the image was built: the `org.opencontainers.image.created` annotation,
        or the image config's `created` (one manifest GET, maybe a config GET)."""
        found = await self.manifest(repository, reference)
        if found.is_index:
            annotated = _timestamp((found.body.get("annotations") or {}).get(CREATED_ANNOTATION))
            if annotated is not None:
                return annotated
            found = await self.manifest(
                repository, platform_manifest(found, platform or "linux/amd64")
            )
        annotated = _timestamp((found.body.get("annotations") or {}).get(CREATED_ANNOTATION))
        if annotated is not None:
            return annotated
        config = found.body.get("config") or {}
        if not isinstance(config.get("digest"), str):
            return None
        return _timestamp((await self.blob_json(repository, config["digest"])).get("created"))

    # --- transport, auth, back-off -------------------------------------------------------

    async def _request(
        self, method: str, url: str, repository: str, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        scope = f"repository:{repository}:pull"
        sent = dict(headers or {})
        for attempt in range(RETRIES + 1):
            auth = await self._auth_header(scope)
            if auth:
                sent["Authorization"] = auth
            response = await self._send(method, url, sent)
            # One answer to a challenge per attempt: a second 401 means refused.
            if response.status_code == 401 and await self._authenticate(response, scope, auth):
                sent["Authorization"] = await self._auth_header(scope) or ""
                response = await self._send(method, url, sent)
            if response.status_code == 401:
                raise RegistryError(
                    f"{self.host} refused the credentials"
                    if self.credentials
                    else f"{self.host} needs credentials (none are configured)",
                    hint="check the source's credentials",
                )
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == RETRIES:
                    raise RegistryError(
                        f"{self.host} answered {response.status_code} {method} "
                        f"{urlsplit(url).path} after {RETRIES} retries",
                        retryable=True,
                    )
                await asyncio.sleep(_backoff(response, attempt))
                continue
            is_blob = method == "GET" and "/blobs/" in url  # blob_json checks its redirects
            if 300 <= response.status_code < 400 and not is_blob:
                location = urljoin(url, response.headers.get("location", ""))
                url = self._same_host(location, "a redirect")
                continue
            return response
        raise AssertionError("unreachable")

    async def _send(self, method: str, url: str, headers: Mapping[str, str]) -> httpx.Response:
        await self.limiter.acquire()
        self.requests += 1
        try:
            return await self._http.request(method, url, headers=headers)
        except httpx.TransportError as exc:
            # The exception's text names the address, never a header: safe to show.
            raise RegistryError(
                f"cannot reach {self.host}: {type(exc).__name__}: {exc}", retryable=True
            ) from None

    async def _auth_header(self, scope: str) -> str | None:
        """What to send with the first request: a kept token; a new token when the host
        is known to want bearer tokens (no 401 round trip for a new scope); basic auth
        when it is known to want that; nothing for a host not met yet."""
        token = self.auth.token(scope)
        if token is None and self.auth.bearer is not None:
            token = await self._fetch_token(self.auth.bearer, scope, scope)
        if token is not None:
            return f"Bearer {token}"
        if self.auth.basic and self.credentials is not None:
            return self.credentials.basic()
        return None

    async def _authenticate(self, response: httpx.Response, scope: str, sent: str | None) -> bool:
        """Answer a 401's challenge; True when a retry with new credentials makes sense
        (not when the basic credentials just sent were refused)."""
        challenge = Challenge.parse(response.headers.get("www-authenticate", ""))
        if challenge.kind == "basic":
            if self.credentials is None or (sent or "").startswith("Basic "):
                return False
            self.auth.basic = True
            return True
        if challenge.kind != "bearer":
            return False
        realm = challenge.params.get("realm", "")
        realm_host = urlsplit(realm).netloc.lower()
        if not realm_host or not same_site(self.host, realm_host):
            raise RegistryError(
                f"{self.host} sent a token realm on another host ({realm_host or realm!r}); "
                "refused by the host rule (docs/sources.md)"
            )
        self.auth.bearer = BearerRealm(realm, challenge.params.get("service", ""))
        self.auth.forget(scope)  # a kept token that was refused (expired early, revoked)
        await self._fetch_token(self.auth.bearer, scope, challenge.params.get("scope", scope))
        return True

    async def _fetch_token(self, bearer: BearerRealm, scope: str, asked: str) -> str:
        """A token from the realm for `asked` (the challenge's scope), kept for `scope`;
        the credentials go to the realm as basic auth (anonymous without them)."""
        query = {"service": bearer.service, "scope": asked}
        headers = {"Authorization": self.credentials.basic()} if self.credentials else {}
        await self.limiter.acquire()
        self.requests += 1
        try:
            answer = await self._http.get(bearer.realm, params=query, headers=headers)
        except httpx.TransportError as exc:
            raise RegistryError(f"cannot reach the token service of {self.host}: {exc}") from None
        if answer.status_code in (401, 403):
            raise RegistryError(f"{self.host}'s token service refused the credentials")
        self._expect_ok(answer, "getting a token")
        body = _json(answer, "token")
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str):
            raise RegistryError(f"{self.host}'s token service answered without a token")
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else None
        self.auth.keep(scope, token, lifetime)
        return token

    def _same_host(self, url: str, what: str) -> str:
        parts = urlsplit(url)
        if parts.netloc.lower() != self.host or parts.scheme != urlsplit(self.base).scheme:
            raise RegistryError(
                f"{self.host} pointed {what} at {parts.scheme}://{parts.netloc}; "
                "refused by the host rule (docs/sources.md)"
            )
        return url

    def _expect_ok(self, response: httpx.Response, doing: str) -> None:
        if response.status_code >= 400 or response.status_code < 200:
            raise RegistryError(
                f"{self.host} answered {response.status_code} when {doing}",
                retryable=response.status_code >= 500,
            )


def platform_manifest(index: Manifest, platform: str) -> str:
    """The digest of `platform`'s manifest in an index; RegistryError when absent."""
    os_name, _, rest = platform.partition("/")
    arch, _, variant = rest.partition("/")
    for entry in index.body.get("manifests") or []:
        p = entry.get("platform") or {}
        if (
            p.get("os") == os_name
            and p.get("architecture") == arch
            and (not variant or p.get("variant") == variant)
        ):
            return str(entry["digest"])
    raise RegistryError(f"the index {index.digest} has no image for {platform}")


def _backoff(response: httpx.Response, attempt: int) -> float:
    retry_after = response.headers.get("retry-after", "")
    if retry_after.isdigit():
        return min(float(retry_after), MAX_BACKOFF)
    return min(0.5 * 2.0**attempt, MAX_BACKOFF)


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        raise RegistryError(f"the registry's {what} is not JSON") from None
    if not isinstance(body, dict):
        raise RegistryError(f"the registry's {what} is not a JSON object")
    return body


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        # Go writes nanoseconds; Python takes microseconds.
        text = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
        return datetime.fromisoformat(text)
    except ValueError:
        return None
