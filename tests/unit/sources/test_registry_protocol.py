"""Protocol rules of the registry client, against a scripted transport (pure logic:
the same client runs against a real registry in tests/integration/sources)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest

from shiplane.sources import registry as registry_module
from shiplane.sources.credentials import Credentials
from shiplane.sources.registry import RateLimiter, RegistryClient, RegistryError
from shiplane.sources.registry_auth import same_site

pytestmark = pytest.mark.anyio
HOST = "registry.example"
DIGEST = "sha256:" + "a" * 64


def make(handler: Callable[[httpx.Request], httpx.Response], **kw: object) -> RegistryClient:
    kw.setdefault("limiter", RateLimiter(1e9))  # the limiter has its own test below
    return RegistryClient(HOST, transport=httpx.MockTransport(handler), **kw)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(registry_module.asyncio, "sleep", record)
    return slept


async def test_bearer_challenge_flow_sends_credentials_to_the_realm_only() -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization")))
        if request.url.host == "auth.example":
            assert request.url.params["scope"] == "repository:shop/web:pull"
            assert request.url.params["service"] == "registry"
            return httpx.Response(200, json={"token": "tok-1"})
        if request.headers.get("authorization") != "Bearer tok-1":
            challenge = 'Bearer realm="https://auth.example/token",service="registry",scope="repository:shop/web:pull"'
            return httpx.Response(401, headers={"www-authenticate": challenge})
        return httpx.Response(200, json={"tags": ["1.0.0"]})

    async with make(handler, credentials=Credentials("u", "p")) as client:
        # auth.example and registry.example share no parent: refused by the host rule.
        with pytest.raises(RegistryError, match="host rule"):
            await client.list_tags("shop/web")
    sibling = RegistryClient(
        "registry.auth.example",
        transport=httpx.MockTransport(handler),
        credentials=Credentials("u", "p"),
    )
    seen.clear()
    async with sibling:
        assert await sibling.list_tags("shop/web") == ["1.0.0"]
        assert await sibling.list_tags("shop/web") == ["1.0.0"]  # the token is kept
    basic = "Basic " + base64.b64encode(b"u:p").decode()
    assert seen[1] == (
        "https://auth.example/token?service=registry&scope=repository%3Ashop%2Fweb%3Apull",
        basic,
    )
    assert [auth for _, auth in seen[2:]] == ["Bearer tok-1", "Bearer tok-1"]


async def test_a_next_page_link_to_another_host_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        link = '<https://evil.example/v2/shop/web/tags/list?last=a>; rel="next"'
        return httpx.Response(200, json={"tags": ["a"]}, headers={"link": link})

    async with make(handler) as client:
        with pytest.raises(RegistryError, match=r"evil\.example; refused by the host rule"):
            await client.list_tags("shop/web")


async def test_relative_next_links_are_followed() -> None:
    pages = {"": (["a", "b"], '</v2/shop/web/tags/list?n=2&last=b>; rel="next"'), "b": (["c"], "")}

    def handler(request: httpx.Request) -> httpx.Response:
        tags, link = pages[request.url.params.get("last", "")]
        return httpx.Response(200, json={"tags": tags}, headers={"link": link} if link else {})

    async with make(handler) as client:
        assert await client.list_tags("shop/web", page_size=2) == ["a", "b", "c"]
        assert client.requests == 2


async def test_a_manifest_redirect_elsewhere_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"location": "https://mirror.other/v2/x"})

    async with make(handler) as client:
        with pytest.raises(RegistryError, match="refused by the host rule"):
            await client.head_digest("shop/web", "1.0.0")


async def test_429_and_5xx_back_off_then_succeed_or_give_up(no_sleep: list[float]) -> None:
    answers = [
        httpx.Response(429, headers={"retry-after": "2"}),
        httpx.Response(503),
        httpx.Response(200, headers={"docker-content-digest": DIGEST}),
    ]

    async with make(lambda r: answers.pop(0)) as client:
        assert await client.head_digest("shop/web", "1.0.0") == DIGEST
    assert no_sleep == [2.0, 1.0]  # Retry-After, then exponential back-off

    async with make(lambda r: httpx.Response(502)) as client:
        with pytest.raises(RegistryError, match="502") as info:
            await client.head_digest("shop/web", "1.0.0")
    assert info.value.retryable


async def test_head_without_digest_header_falls_back_to_hashing_the_manifest() -> None:
    body = json.dumps({"schemaVersion": 2, "mediaType": registry_module.OCI_MANIFEST}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"" if request.method == "HEAD" else body)

    async with make(handler) as client:
        digest = await client.head_digest("shop/web", "1.0.0")
    assert digest == "sha256:" + __import__("hashlib").sha256(body).hexdigest()


async def test_a_blob_that_does_not_match_its_digest_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == HOST:
            return httpx.Response(307, headers={"location": "https://cdn.other/blob"})
        assert "authorization" not in request.headers  # no credentials leave the host
        return httpx.Response(200, json={"created": "2026-01-01T00:00:00Z"})

    async with make(handler, credentials=Credentials("u", "p")) as client:
        with pytest.raises(RegistryError, match="does not match its digest"):
            await client.blob_json("shop/web", DIGEST)


async def test_rate_limiter_spaces_requests(no_sleep: list[float]) -> None:
    limiter = RateLimiter(rate=10)
    for _ in range(4):
        await limiter.acquire()
    # The first goes at once; the others wait for their slot, 0.1 s apart.
    assert len(no_sleep) == 3
    assert no_sleep == sorted(no_sleep)
    assert no_sleep[-1] == pytest.approx(0.3, abs=0.05)


def test_same_site_rule() -> None:
    assert same_site("registry-1.docker.io", "auth.docker.io")
    assert same_site("ghcr.io", "ghcr.io")
    assert not same_site("ghcr.io", "evil.io")  # a two-label host has no siblings
    assert not same_site("127.0.0.1:5000", "127.0.0.2:5000")
    assert same_site("127.0.0.1:5000", "127.0.0.1:5001")  # the same machine
    assert not same_site("registry.example", "registry.example.evil.com")
