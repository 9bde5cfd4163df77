"""The `image` source plugin against a real registry: each selection, the cheap path's
request count, and a tag deleted between the listing and the HEAD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shiplane.config.models import ImageSourceConfig, RegistryAccess
from shiplane.sources.plugins import NothingFoundError, RegistryClients, discover_image
from shiplane.sources.registry import RegistryClient
from tests.support.oci_registry import OciRegistry

pytestmark = pytest.mark.anyio


@pytest.fixture
def creds(tmp_path: Path, oci_registry: OciRegistry) -> Path:
    path = tmp_path / "auth"
    path.write_text(f"{oci_registry.user}:{oci_registry.password}\n")
    return path


def config(registry: OciRegistry, repo: str, creds: Path, **fields: Any) -> ImageSourceConfig:
    return ImageSourceConfig.model_validate(
        {
            "repository": f"{registry.host}/{repo}",
            "credentials": {"file": str(creds)},
            "caFile": str(registry.ca_file),
            **fields,
        }
    )


async def test_selections(oci_registry: OciRegistry, creds: Path) -> None:
    r = oci_registry
    digests = {t: r.push_image("plug/sel", t, created=c) for t, c in [
        ("1.2.0", "2026-12-01T00:00:00Z"), ("1.10.0", "2026-11-01T00:00:00Z"),
        ("2.0.0-rc.1", "2026-12-03T00:00:00Z"), ("latest", "2026-12-02T00:00:00Z")]}  # fmt: skip
    clients = RegistryClients()

    semver = await discover_image(config(r, "plug/sel", creds), clients)
    assert (semver.version, semver.digest) == ("1.10.0", digests["1.10.0"])
    assert semver.artifact == f"{r.host}/plug/sel:1.10.0@{digests['1.10.0']}"
    # The cheap path: basic challenge + tag list + one HEAD.
    assert clients.requests == 3

    bounded = await discover_image(config(r, "plug/sel", creds, constraint="<1.5"), clients)
    assert bounded.version == "1.2.0"
    lexical = await discover_image(config(r, "plug/sel", creds, select="lexical"), clients)
    assert lexical.version == "latest"
    newest = await discover_image(config(r, "plug/sel", creds, select="newest-build"), clients)
    assert newest.version == "2.0.0-rc.1"
    follow = config(r, "plug/sel", creds, select="digest", constraint="latest")
    assert (await discover_image(follow, clients)).digest == digests["latest"]
    moved = r.push_image("plug/sel", "latest", created="2026-12-05T00:00:00Z")
    assert (await discover_image(follow, clients)).digest == moved

    with pytest.raises(NothingFoundError, match=r"no tag of .* is selected by semver >=3"):
        await discover_image(config(r, "plug/sel", creds, constraint=">=3"), clients)


async def test_a_tag_deleted_between_list_and_head_gives_way(
    oci_registry: OciRegistry, creds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = oci_registry
    doomed = r.push_image("plug/del", "1.1.0", created="2026-12-02T00:00:00Z")
    kept = r.push_image("plug/del", "1.0.0")
    listing = RegistryClient.list_tags

    async def list_then_delete(self: RegistryClient, repository: str, **kw: Any) -> list[str]:
        tags = await listing(self, repository, **kw)
        r.delete("plug/del", doomed)  # the registry loses 1.1.0 right after the listing
        return tags

    monkeypatch.setattr(RegistryClient, "list_tags", list_then_delete)
    found = await discover_image(config(r, "plug/del", creds), RegistryClients())
    assert (found.version, found.digest) == ("1.0.0", kept)


def test_default_access_is_anonymous_https() -> None:
    access = RegistryAccess()
    assert (access.credentials, access.insecure, access.rate_limit) == (None, False, 20.0)
