"""What a registry said about authentication, remembered between looks (registry_auth.py),
and the image plugin's reuse of the last digest: against a scripted transport (pure
protocol logic; tests/integration/sources runs the same code against real registries)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shiplane.config.models import ImageSourceConfig
from shiplane.sources.credentials import Credentials
from shiplane.sources.plugins import Found, RegistryClients, discover_image
from shiplane.sources.registry import RateLimiter, RegistryClient, RegistryError
from shiplane.sources.registry_auth import AuthMemory

pytestmark = pytest.mark.anyio
HOST = "registry.example"
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
BASIC = "Basic " + base64.b64encode(b"u:p").decode()
REALM = f"https://{HOST}:5001/token"
CHALLENGE = f'Bearer realm="{REALM}",service="reg",scope="repository:shop/web:pull"'

Handler = Callable[[httpx.Request], httpx.Response]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(handler: Handler, auth: AuthMemory, credentials: Credentials | None) -> RegistryClient:
    return RegistryClient(
        HOST,
        credentials=credentials,
        limiter=RateLimiter(1e9),
        auth=auth,
        transport=httpx.MockTransport(handler),
    )


def basic_registry(password: str = "p") -> tuple[Handler, list[str | None]]:
    """A registry wanting basic auth (htpasswd): 401 Basic unless the right password."""
    sent: list[str | None] = []
    good = "Basic " + base64.b64encode(f"u:{password}".encode()).decode()

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("authorization"))
        if request.headers.get("authorization") != good:
            return httpx.Response(401, headers={"www-authenticate": 'Basic realm="r"'})
        return httpx.Response(200, json={"tags": ["1.0.0"]})

    return handler, sent


async def test_a_host_that_asked_for_basic_gets_it_up_front_from_the_next_client_on() -> None:
    handler, sent = basic_registry()
    memory = AuthMemory()
    async with client(handler, memory, Credentials("u", "p")) as first:
        assert await first.list_tags("shop/web") == ["1.0.0"]
        assert first.requests == 2  # the 401, then the same request with credentials
    async with client(handler, memory, Credentials("u", "p")) as second:
        assert await second.list_tags("shop/api") == ["1.0.0"]
        assert second.requests == 1  # no 401 any more
    assert sent == [None, BASIC, BASIC]


async def test_refused_basic_credentials_are_not_sent_twice() -> None:
    handler, sent = basic_registry(password="other")
    memory = AuthMemory()
    async with client(handler, memory, Credentials("u", "p")) as first:
        with pytest.raises(RegistryError, match=f"{HOST} refused the credentials"):
            await first.list_tags("shop/web")
    async with client(handler, memory, Credentials("u", "p")) as second:
        with pytest.raises(RegistryError, match="refused the credentials"):
            await second.list_tags("shop/web")
        assert second.requests == 1  # sent up front, refused: no pointless retry
    assert sent == [None, BASIC, BASIC]


def token_registry(
    issued: list[str], expires_in: int | None = None
) -> tuple[Handler, list[tuple[str, str | None]]]:
    """A bearer registry on HOST, its token service on port 5001 of the same host;
    the registry takes only the newest token it issued."""
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization")
        if request.url.port == 5001:
            seen.append(("token " + request.url.params["scope"], auth))
            assert auth == BASIC  # the credentials go to the realm only
            issued.append(f"tok-{len(issued) + 1}")
            body: dict[str, Any] = {"token": issued[-1]}
            if expires_in is not None:
                body["expires_in"] = expires_in
            return httpx.Response(200, json=body)
        seen.append((request.url.path, auth))
        if not issued or auth != f"Bearer {issued[-1]}":
            return httpx.Response(401, headers={"www-authenticate": CHALLENGE})
        return httpx.Response(200, json={"tags": ["1.0.0"]})

    return handler, seen


async def test_bearer_tokens_are_reused_per_scope_until_they_expire() -> None:
    issued: list[str] = []
    handler, seen = token_registry(issued, expires_in=300)
    clock = Clock()
    memory = AuthMemory(clock)
    creds = Credentials("u", "p")
    async with client(handler, memory, creds) as first:
        await first.list_tags("shop/web")
        assert first.requests == 3  # challenge, token, retry
    async with client(handler, memory, creds) as second:
        await second.list_tags("shop/web")
        assert second.requests == 1  # the kept token, no 401
        # A new scope on a host known to want tokens: the token first, no 401.
        await second.list_tags("shop/api")
        assert second.requests == 3
    assert seen[-2:] == [("token repository:shop/api:pull", BASIC),
                         ("/v2/shop/api/tags/list", "Bearer tok-2")]  # fmt: skip
    clock.now += 0.9 * 300  # 90% of its lifetime: no longer reused
    async with client(handler, memory, creds) as third:
        await third.list_tags("shop/api")
        assert third.requests == 2  # a new token up front, then the request
    assert issued == ["tok-1", "tok-2", "tok-3"]


async def test_a_kept_token_the_registry_refuses_is_replaced_once() -> None:
    issued: list[str] = []
    handler, _seen = token_registry(issued)  # no expires_in: 60 s
    memory = AuthMemory(Clock())
    creds = Credentials("u", "p")
    async with client(handler, memory, creds) as first:
        await first.list_tags("shop/web")
    issued.append("revoked-elsewhere")  # the registry no longer takes tok-1
    async with client(handler, memory, creds) as second:
        assert await second.list_tags("shop/web") == ["1.0.0"]
        assert second.requests == 3  # refused token, new token, retry
    assert memory.token("repository:shop/web:pull") == issued[-1]


async def test_clients_share_memory_per_host_and_credentials_only(tmp_path: Any) -> None:
    handler, sent = basic_registry()
    clients = RegistryClients(transport=httpx.MockTransport(handler))
    good, other = tmp_path / "good", tmp_path / "other"
    good.write_text("u:p\n")
    other.write_text("u:q\n")

    def access(path: Any) -> ImageSourceConfig:
        return ImageSourceConfig.model_validate(
            {"repository": f"{HOST}/shop/web", "credentials": {"file": str(path)}}
        )

    for _ in range(2):
        async with clients.client(HOST, access(good)) as registry:
            await registry.list_tags("shop/web")
    async with clients.client(HOST, access(other)) as registry:
        with pytest.raises(RegistryError):
            await registry.list_tags("shop/web")
    # good: 401 then basic, then basic up front; other credentials: met afresh.
    assert sent == [None, BASIC, BASIC, None, "Basic " + base64.b64encode(b"u:q").decode()]
    assert clients.requests == 5


def scripted_registry(digests: dict[str, str]) -> tuple[Handler, list[str]]:
    """Anonymous registry with `digests` as tags; records method and path."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/tags/list"):
            return httpx.Response(200, json={"tags": sorted(digests)})
        tag = request.url.path.rsplit("/", 1)[1]
        if tag not in digests:
            return httpx.Response(404)
        return httpx.Response(200, headers={"docker-content-digest": digests[tag]})

    return handler, calls


def image(**fields: Any) -> ImageSourceConfig:
    return ImageSourceConfig.model_validate({"repository": f"{HOST}/shop/web", **fields})


async def test_the_plugin_reuses_the_last_digest_while_its_choice_stands() -> None:
    digests = {"1.0.0": D1}
    handler, calls = scripted_registry(digests)
    clients = RegistryClients(transport=httpx.MockTransport(handler))
    first = await discover_image(image(), clients)
    assert (first.version, first.digest, first.verified) == ("1.0.0", D1, True)
    assert calls == ["GET /v2/shop/web/tags/list", "HEAD /v2/shop/web/manifests/1.0.0"]

    calls.clear()
    again = await discover_image(image(), clients, last=first)
    assert again == first and not again.verified
    assert calls == ["GET /v2/shop/web/tags/list"]  # one tag list, no HEAD

    calls.clear()
    digests["1.1.0"] = D2  # a new tag: its digest is asked for
    newer = await discover_image(image(), clients, last=first)
    assert (newer.version, newer.digest, newer.verified) == ("1.1.0", D2, True)
    assert calls[-1] == "HEAD /v2/shop/web/manifests/1.1.0"


async def test_the_digest_selection_always_asks_and_a_deleted_new_tag_falls_back() -> None:
    digests = {"latest": D1}
    handler, calls = scripted_registry(digests)
    clients = RegistryClients(transport=httpx.MockTransport(handler))
    follow = image(select="digest", constraint="latest")
    last = Found("latest", D1, f"{HOST}/shop/web:latest@{D1}")
    digests["latest"] = D2  # moved behind the same tag
    moved = await discover_image(follow, clients, last=last)
    assert (moved.digest, moved.verified) == (D2, True)
    assert calls[-1] == "HEAD /v2/shop/web/manifests/latest"

    # semver: 2.0.0 is listed but gone by the HEAD; the next candidate is the last
    # choice, reused without a HEAD of its own.
    listed = {"1.0.0": D1, "2.0.0": D2}
    handler, calls = scripted_registry(listed)

    def vanishing(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/2.0.0"):
            calls.append(f"{request.method} {request.url.path}")
            return httpx.Response(404)
        return handler(request)

    clients = RegistryClients(transport=httpx.MockTransport(vanishing))
    last = Found("1.0.0", D1, f"{HOST}/shop/web:1.0.0@{D1}")
    found = await discover_image(image(), clients, last=last)
    assert (found.version, found.digest, found.verified) == ("1.0.0", D1, False)
    assert calls == ["GET /v2/shop/web/tags/list", "HEAD /v2/shop/web/manifests/2.0.0"]
