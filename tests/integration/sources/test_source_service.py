"""The source service against real parts: Debian's docker-registry (TLS, htpasswd), a
Helm repository indexed by the real helm binary and served on loopback, a bare git
repository; releases go through the same path the API uses."""

from __future__ import annotations

import asyncio
import functools
import glob
import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shiplane.config import load_project_text
from shiplane.config.models import ProjectConfig
from shiplane.engine.promotions.releases import record_release
from shiplane.engine.sources import SourceService
from shiplane.engine.sources_port import SourceRefresher
from shiplane.store import releases as release_store
from shiplane.store.db import Database
from tests.support.oci_registry import OciRegistry, start_registry, stop_registry

pytestmark = pytest.mark.anyio


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'shiplane.db'}")
    database.migrate()
    try:
        yield database
    finally:
        database.close()


def project_text(
    registry: OciRegistry, ns: str, creds: Path, extra: str = "", releases: str = ""
) -> str:
    access = f"credentials: {{file: {creds}}}, caFile: {registry.ca_file}"
    return f"""
apiVersion: shiplane/v1alpha1
project: shop
clusters: {{local: {{kubeconfig: ~/.kube/config}}}}
environments: {{dev: {{cluster: local, namespace: shop-dev}}}}
apps:
  web: {{images: [{registry.host}/{ns}/web], manifests: {{path: apps/web}}}}
  api: {{images: [{registry.host}/{ns}/api], manifests: {{path: apps/api}}}}
releases: {{{releases}}}
sources:
  web: {{image: {{repository: {registry.host}/{ns}/web, {access}}}, apps: [web]}}
  api: {{image: {{repository: {registry.host}/{ns}/api, {access}}}, apps: [api]}}
{extra}"""


def service(db: Database, project: ProjectConfig) -> SourceService:
    async def create(**fields: Any) -> Any:
        return await asyncio.to_thread(
            db.transact, lambda s: record_release(s, project=project, **fields)
        )

    return SourceService(db, project, create)


def all_releases(db: Database) -> list[Any]:
    with db.session(readonly=True) as s:
        return release_store.list_releases(s, limit=100).items


@pytest.fixture
def creds(tmp_path: Path, oci_registry: OciRegistry) -> Path:
    path = tmp_path / "registry-auth"
    path.write_text(f"{oci_registry.user}:{oci_registry.password}\n")
    return path


async def test_new_images_assemble_one_release_with_digests(
    oci_registry: OciRegistry, db: Database, creds: Path
) -> None:
    project = load_project_text(project_text(oci_registry, "svc1", creds))
    sources = service(db, project)
    assert isinstance(sources, SourceRefresher)
    web = oci_registry.push_image("svc1/web", "1.0.0")
    oci_registry.push_image("svc1/web", "0.9.0")
    state = await sources.refresh_and_wait("web", reason="test")
    assert state is not None and state.healthy and state.version == "1.0.0"
    assert state.digest == web
    # api has found nothing yet: the whole-release assembly waits (never partial).
    assert all_releases(db) == []
    assert state.reason is None
    assert state.assembly is not None and "app api has no artifact" in state.assembly

    api = oci_registry.push_image("svc1/api", "2.1.0")
    await sources.refresh_and_wait("api", reason="test")
    [release] = all_releases(db)
    refs = {a.app: a.ref for a in release.artifacts}
    assert refs == {
        "api": f"{oci_registry.host}/svc1/api:2.1.0@{api}",
        "web": f"{oci_registry.host}/svc1/web:1.0.0@{web}",
    }
    assert release.creator == "source/api" and release.labels == {"source": "api"}

    # Nothing new: no new release; the same contents again: the same release (idempotent).
    await sources.refresh_and_wait("api", reason="test")
    await sources.refresh_and_wait("web", reason="test")
    assert [r.id for r in all_releases(db)] == [release.id]

    newer = oci_registry.push_image("svc1/web", "1.1.0")
    state = await sources.refresh_and_wait("web", reason="test")
    assert state is not None and state.last_release is not None
    assert len(all_releases(db)) == 2
    with db.session(readonly=True) as s:
        latest = release_store.get_release(s, state.last_release)
    assert latest is not None
    assert {a.app: a.digest for a in latest.artifacts} == {"api": api, "web": newer}


async def test_wrong_password_and_registry_down_make_the_source_unhealthy(
    oci_registry: OciRegistry, db: Database, tmp_path: Path
) -> None:
    bad = tmp_path / "bad-auth"
    bad.write_text("ci:not-the-password\n")
    oci_registry.push_image("svc2/web", "1.0.0")
    project = load_project_text(project_text(oci_registry, "svc2", bad))
    sources = service(db, project)
    state = await sources.refresh_and_wait("web", reason="test")
    assert state is not None and not state.healthy
    assert (
        state.reason
        == f"{oci_registry.host} refused the credentials (check the source's credentials)"
    )
    assert "not-the-password" not in (state.reason or "")
    assert state.next_poll_at is not None

    down = start_registry(tmp_path / "down")
    stop_registry(down)
    project = load_project_text(project_text(down, "svc2", bad))
    state = await service(db, project).refresh_and_wait("api", reason="test")
    assert state is not None and not state.healthy
    assert state.reason is not None and state.reason.startswith(f"cannot reach {down.host}")
    assert all_releases(db) == []


async def test_criterion_rejects_a_combination(
    oci_registry: OciRegistry, db: Database, creds: Path
) -> None:
    text = project_text(
        oci_registry, "svc3", creds, releases='criterion: "artifacts.web.tag == artifacts.api.tag"'
    )
    sources = service(db, load_project_text(text))
    oci_registry.push_image("svc3/web", "1.0.0")
    oci_registry.push_image("svc3/api", "1.0.0")
    await sources.refresh_and_wait("web", reason="test")
    await sources.refresh_and_wait("api", reason="test")
    assert len(all_releases(db)) == 1
    oci_registry.push_image("svc3/web", "1.1.0")
    state = await sources.refresh_and_wait("web", reason="test")
    assert len(all_releases(db)) == 1  # web 1.1.0 + api 1.0.0 is never assembled
    assert state is not None and state.healthy
    assert state.assembly is not None
    assert "criterion rejects api=1.0.0, web=1.1.0" in state.assembly
    again = await sources.refresh_and_wait("web", reason="test")  # nothing new: kept
    assert again is not None and again.assembly == state.assembly
    oci_registry.push_image("svc3/api", "1.1.0")
    api_state = await sources.refresh_and_wait("api", reason="test")
    assert len(all_releases(db)) == 2
    assert api_state is not None and api_state.assembly is None


async def test_a_flood_of_refreshes_is_coalesced(
    oci_registry: OciRegistry, db: Database, creds: Path
) -> None:
    text = project_text(oci_registry, "svc4", creds, releases="assemble: changed")
    sources = service(db, load_project_text(text))
    oci_registry.push_image("svc4/web", "3.0.0")
    for _ in range(50):
        await sources.refresh(["web", "unknown"], reason="webhook")
    state = await sources.refresh_and_wait("web", reason="webhook")
    assert sources.runs <= 2  # one run, plus one merged run for everything that came later
    assert state is not None and state.version == "3.0.0"
    [release] = all_releases(db)  # assemble: changed -> web alone
    assert [a.app for a in release.artifacts] == ["web"]
    assert sources.matching(oci_registry.host.upper(), "svc4/web") == ["web"]
    assert sources.matching(oci_registry.host, "svc4/other") == []


async def test_git_source_on_a_local_bare_repository(
    oci_registry: OciRegistry, db: Database, creds: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "config.git"
    work = tmp_path / "work"
    run = functools.partial(subprocess.run, check=True, capture_output=True, text=True)
    run(["git", "init", "--bare", "-b", "main", str(bare)])
    run(["git", "init", "-b", "main", str(work)])
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}  # fmt: skip
    run(["git", "-C", str(work), "commit", "--allow-empty", "-m", "one"], env=env)
    run(["git", "-C", str(work), "tag", "v1.2.0"], env=env)
    run(["git", "-C", str(work), "push", str(bare), "main", "--tags"])
    head = run(["git", "-C", str(work), "rev-parse", "HEAD"]).stdout.strip()
    extra = (
        f"  config: {{git: {{url: {bare}}}, apps: [web]}}\n"
        f"  config-tags: {{git: {{url: {bare}, tags: '^v'}}, apps: [web]}}\n"
    )
    sources = service(db, load_project_text(project_text(oci_registry, "svc5", creds, extra)))
    state = await sources.refresh_and_wait("config", reason="test")
    assert state is not None and state.healthy and state.digest == head
    tags = await sources.refresh_and_wait("config-tags", reason="test")
    assert tags is not None and tags.version == "v1.2.0"
    assert sources.matching_git(f"{bare}/", "refs/heads/main") == ["config"]
    assert sources.matching_git(str(bare), "refs/tags/v1.3.0") == ["config-tags"]


@pytest.fixture
def helm_repo(tmp_path: Path) -> Iterator[str]:
    """Charts packaged and indexed by the real helm binary, served on 127.0.0.1."""
    helm = helm_binary()
    served = tmp_path / "charts"
    served.mkdir()
    home = {"HELM_CACHE_HOME": str(tmp_path / "hc"), "HELM_CONFIG_HOME": str(tmp_path / "hf"),
            "HELM_DATA_HOME": str(tmp_path / "hd")}  # fmt: skip
    for version in ("1.0.0", "1.4.0", "2.0.0"):
        chart = tmp_path / f"src-{version}" / "api"
        chart.mkdir(parents=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: api\nversion: {version}\n")
        subprocess.run([helm, "package", str(chart), "-d", str(served)], check=True,
                       capture_output=True, env={**os.environ, **home})  # fmt: skip
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    subprocess.run([helm, "repo", "index", str(served), "--url", url], check=True,
                   capture_output=True, env={**os.environ, **home})  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


async def test_chart_source_from_a_helm_index(
    oci_registry: OciRegistry, db: Database, creds: Path, helm_repo: str
) -> None:
    chart = f"{{repository: '{helm_repo}', name: api, constraint: '^1'}}"
    extra = f"  chart: {{chart: {chart}, apps: [api]}}\n"
    sources = service(db, load_project_text(project_text(oci_registry, "svc6", creds, extra)))
    state = await sources.refresh_and_wait("chart", reason="test")
    assert state is not None and state.healthy, state
    assert state.version == "1.4.0"
    assert state.digest is not None and len(state.digest) == 64  # helm's sha256 of the package


def helm_binary() -> str:
    helm = os.environ.get("SHIPLANE_HELM") or next(
        iter(sorted(glob.glob(os.path.expanduser("~/.cache/shiplane/bin/helm-*/helm")))), None
    )
    if helm is None:
        pytest.fail("helm not found: run `shiplane localcluster build` (or set SHIPLANE_HELM)")
    return helm


@pytest.fixture
def oci_charts(oci_registry: OciRegistry, tmp_path: Path) -> str:
    """Charts packaged and pushed by the real helm binary into the real registry."""
    helm = helm_binary()
    env = {**os.environ, "HELM_CACHE_HOME": str(tmp_path / "hc"),
           "HELM_CONFIG_HOME": str(tmp_path / "hf"), "HELM_DATA_HOME": str(tmp_path / "hd"),
           "HELM_REGISTRY_CONFIG": str(tmp_path / "registry.json")}  # fmt: skip
    ca = str(oci_registry.ca_file)
    subprocess.run([helm, "registry", "login", oci_registry.host, "-u", oci_registry.user,
                    "--password-stdin", "--ca-file", ca], input=oci_registry.password.encode(),
                   check=True, capture_output=True, env=env)  # fmt: skip
    for version in ("1.0.0", "1.4.0", "2.0.0"):
        chart = tmp_path / f"oci-{version}" / "api"
        chart.mkdir(parents=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: api\nversion: {version}\n")
        subprocess.run([helm, "package", str(chart), "-d", str(tmp_path)], check=True,
                       capture_output=True, env=env)  # fmt: skip
        subprocess.run([helm, "push", str(tmp_path / f"api-{version}.tgz"),
                        f"oci://{oci_registry.host}/ocicharts", "--ca-file", ca],
                       check=True, capture_output=True, env=env)  # fmt: skip
    return f"oci://{oci_registry.host}/ocicharts"


async def test_chart_source_from_an_oci_registry(
    oci_registry: OciRegistry, db: Database, creds: Path, oci_charts: str
) -> None:
    access = f"credentials: {{file: {creds}}}, caFile: {oci_registry.ca_file}"
    chart_source = f"{{repository: '{oci_charts}', name: api, {access}}}"
    extra = f"  chart: {{chart: {chart_source}, apps: [api]}}\n"
    sources = service(db, load_project_text(project_text(oci_registry, "svc7", creds, extra)))
    state = await sources.refresh_and_wait("chart", reason="test")
    assert state is not None and state.healthy, state
    assert state.version == "2.0.0"  # no constraint: the highest
    assert state.digest is not None and state.digest.startswith("sha256:")
    assert sources.matching(oci_registry.host, "ocicharts/api") == ["chart"]
