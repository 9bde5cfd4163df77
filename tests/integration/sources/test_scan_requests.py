"""What a scan costs the registry (issue 14's goal: one tag-list page per repository plus
one HEAD per changed selection), counted by the client and by the real registry's own
access log (Debian's docker-registry, TLS, htpasswd), and the bearer token reused by the
next look on the token registry."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from shiplane.config import load_project_text
from shiplane.config.models import ImageSourceConfig
from shiplane.engine.sources import SourceService
from shiplane.sources.plugins import RegistryClients, discover_image
from shiplane.store.db import Database
from tests.support.oci_registry import OciRegistry
from tests.support.token_registry import TokenRegistry
from tests.support.wait import wait_for

pytestmark = pytest.mark.anyio
REPOS = ("scan/a", "scan/b", "scan/c")
_ACCESS = re.compile(r'"(GET|HEAD|PUT|POST|DELETE|PATCH) (/v2/scan/\S+) HTTP/[\d.]+" (\d{3}) ')


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'shiplane.db'}")
    database.migrate()
    try:
        yield database
    finally:
        database.close()


def project(registry: OciRegistry, creds: Path) -> str:
    access = f"credentials: {{file: {creds}}}, caFile: {registry.ca_file}"
    apps = "".join(
        f"  {r[-1]}: {{images: [{registry.host}/{r}], manifests: {{path: apps/x}}}}\n"
        for r in REPOS
    )
    sources = "".join(
        f"  {r[-1]}: {{image: {{repository: {registry.host}/{r}, {access}}}, apps: [{r[-1]}]}}\n"
        for r in REPOS
    )
    return (
        "apiVersion: shiplane/v1alpha1\nproject: scan\n"
        "clusters: {local: {kubeconfig: ~/.kube/config}}\n"
        "environments: {dev: {cluster: local, namespace: dev}}\n"
        f"releases: {{assemble: changed}}\napps:\n{apps}sources:\n{sources}"
    )


def logged(registry: OciRegistry, since: int) -> Counter[str]:
    """Requests to the scan/ repositories the registry logged after byte `since`."""
    text = registry.log_path.read_bytes()[since:].decode(errors="replace")
    kinds: Counter[str] = Counter()
    for method, path, status in _ACCESS.findall(text):
        what = "tag list" if "/tags/list" in path else f"{method} manifest"
        kinds["401" if status == "401" else what] += 1
    return kinds


async def test_an_unchanged_scan_lists_tags_and_nothing_else(
    oci_registry: OciRegistry, db: Database, tmp_path: Path
) -> None:
    creds = tmp_path / "auth"
    creds.write_text(f"{oci_registry.user}:{oci_registry.password}\n")
    for repository in REPOS:
        for tag in ("1.0.0", "1.1.0"):
            oci_registry.push_image(repository, tag)
    sources = SourceService(db, load_project_text(project(oci_registry, creds)), None)
    names = [r[-1] for r in REPOS]

    async def scan() -> tuple[int, Counter[str]]:
        before, since = sources.clients.requests, oci_registry.log_path.stat().st_size
        await asyncio.gather(*(sources.refresh_and_wait(n, reason="poll") for n in names))
        # The registry writes its access line after the answer: wait for every line.
        made = sources.clients.requests - before
        wait_for(lambda: sum(logged(oci_registry, since).values()) >= made,
                 timeout=10, what="the registry's access log")  # fmt: skip
        return made, logged(oci_registry, since)

    first = await scan()  # the first look: one 401 per host, a HEAD per choice
    assert first[1]["HEAD manifest"] == 3 and first[1]["tag list"] == 3
    assert all(s.version == "1.1.0" for s in sources.states().values())

    made, kinds = await scan()
    assert made == 3  # one tag list per repository, nothing else
    assert kinds == Counter({"tag list": 3})  # no HEAD and no 401 challenge

    oci_registry.push_image("scan/b", "1.2.0")
    made, kinds = await scan()
    assert made == 4  # ... plus one HEAD for the changed selection
    assert kinds == Counter({"tag list": 3, "HEAD manifest": 1})
    assert sources.states()["b"].version == "1.2.0"


async def test_the_next_look_reuses_the_bearer_token(token_registry: TokenRegistry) -> None:
    registry = token_registry.registry
    digest = registry.push_image("tokscan/web", "1.0.0")
    creds = Path(str(registry.ca_file)).parent / "scan-auth"
    creds.write_text(f"{registry.user}:{registry.password}\n")
    config = ImageSourceConfig.model_validate({
        "repository": f"{registry.host}/tokscan/web", "credentials": {"file": str(creds)},
        "caFile": str(registry.ca_file)})  # fmt: skip
    clients = RegistryClients()
    found = await discover_image(config, clients)
    assert found.digest == digest
    assert clients.requests == 4  # challenge, token, tag list, HEAD
    issued = len(token_registry.tokens_issued)
    await discover_image(config, clients, last=found)
    assert clients.requests == 5  # the kept token with the first request: one tag list
    assert len(token_registry.tokens_issued) == issued  # no new token
