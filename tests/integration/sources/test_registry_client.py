"""The registry client against a real OCI registry (TLS with a throwaway CA, htpasswd)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shiplane.sources.credentials import Credentials
from shiplane.sources.registry import (
    ManifestNotFoundError,
    RegistryClient,
    RegistryError,
)
from tests.support.oci_registry import OciRegistry, start_registry, stop_registry

pytestmark = pytest.mark.anyio


def client(registry: OciRegistry, password: str | None = None, **kw: object) -> RegistryClient:
    creds = Credentials(registry.user, password or registry.password)
    return RegistryClient(registry.host, credentials=creds, ca_file=str(registry.ca_file), **kw)  # type: ignore[arg-type]


async def test_tags_paginate_and_head_gives_the_pushed_digest(oci_registry: OciRegistry) -> None:
    pushed = {t: oci_registry.push_image("client/web", t) for t in ("1.0.0", "1.1.0", "1.2.0")}
    async with client(oci_registry) as registry:
        tags = await registry.list_tags("client/web", page_size=2)  # two pages via Link
        assert sorted(tags) == ["1.0.0", "1.1.0", "1.2.0"]
        requests_before = registry.requests
        assert await registry.head_digest("client/web", "1.2.0") == pushed["1.2.0"]
        # Basic auth is sent up front once the registry asked for it: one request per HEAD.
        assert registry.requests == requests_before + 1


async def test_created_time_from_config_and_annotation(oci_registry: OciRegistry) -> None:
    oci_registry.push_image("client/built", "a", created="2026-12-01T10:00:00.123456789Z")
    oci_registry.push_image("client/built", "b", created="2026-12-02T10:00:00Z", annotate=True)
    async with client(oci_registry) as registry:
        assert await registry.created("client/built", "a") == datetime(
            2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC
        )
        assert await registry.created("client/built", "b") == datetime(2026, 12, 2, 10, tzinfo=UTC)


async def test_platform_of_an_index(oci_registry: OciRegistry) -> None:
    index, per_platform = oci_registry.push_index(
        "client/multi", "2.0.0", ["linux/amd64", "linux/arm64"]
    )
    async with client(oci_registry) as registry:
        assert await registry.resolve("client/multi", "2.0.0") == index
        assert (
            await registry.resolve("client/multi", "2.0.0", "linux/arm64")
            == (per_platform["linux/arm64"])
        )
        with pytest.raises(RegistryError, match="no image for linux/s390x"):
            await registry.resolve("client/multi", "2.0.0", "linux/s390x")


async def test_wrong_password_is_a_clear_error_without_the_secret(
    oci_registry: OciRegistry,
) -> None:
    async with client(oci_registry, password="wrong-password-123") as registry:
        with pytest.raises(RegistryError) as info:
            await registry.list_tags("client/web")
    assert "refused the credentials" in str(info.value)
    assert "wrong-password-123" not in str(info.value)
    anonymous = RegistryClient(oci_registry.host, ca_file=str(oci_registry.ca_file))
    async with anonymous:
        with pytest.raises(RegistryError, match="needs credentials"):
            await anonymous.list_tags("client/web")


async def test_tag_deleted_between_list_and_head(oci_registry: OciRegistry) -> None:
    digest = oci_registry.push_image("client/gone", "0.1.0")
    async with client(oci_registry) as registry:
        assert "0.1.0" in await registry.list_tags("client/gone")
        oci_registry.delete("client/gone", digest)
        with pytest.raises(ManifestNotFoundError):
            await registry.head_digest("client/gone", "0.1.0")


async def test_untrusted_certificate_and_registry_down(
    oci_registry: OciRegistry, tmp_path: Path
) -> None:
    no_ca = RegistryClient(oci_registry.host, credentials=Credentials("ci", "x"))
    async with no_ca:
        with pytest.raises(RegistryError, match="cannot reach"):
            await no_ca.list_tags("client/web")
    down = start_registry(tmp_path)
    stop_registry(down)
    async with client(down) as registry:
        with pytest.raises(RegistryError, match="cannot reach") as info:
            await registry.list_tags("client/web")
    assert info.value.retryable
