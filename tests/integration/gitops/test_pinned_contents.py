"""Rendering what a pin names beyond images: a chart version pulled by the real helm
from a Helm repository on 127.0.0.1 (cached, digest-checked), and an app's manifests at
a config commit of a real git repository."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shiplane.gitops import GitWorkspace, Pin, RenderError, gitcmd, render_app
from shiplane.gitops.charts import ChartAccess, ChartCache, ChartPullError
from shiplane.gitops.pins import PinChart, PinConfig
from tests.integration.gitops.conftest import BareRepoFactory, git
from tests.support.helm_repo import (
    CONFIGMAP_TEMPLATE,
    helm_binary,
    package_charts,
    served_helm_repo,
)
from tests.support.oci_registry import OciRegistry

needs_helm = pytest.mark.skipif(not helm_binary().is_file(), reason="helm not built")


@dataclass
class Contents:
    """The engine's PinnedContentSource, without a project: one repository."""

    workspace: GitWorkspace
    cache: ChartCache
    repository: str = ""

    async def chart(self, app: str, chart: PinChart) -> Path:
        found = await self.cache.fetch(self.repository, chart.name, chart.version, chart.digest)
        return found.directory

    async def tree_at(self, tree: Path, app: str, manifests_path: str, commit: str) -> Path:
        return await self.workspace.tree_with(tree, manifests_path, commit)


def render(tree: Path, app: str, renderer: str, pin: Pin, contents: Contents) -> list[Any]:
    return asyncio.run(
        render_app(
            tree,
            app=app,
            environment="staging",
            namespace="shop-staging",
            manifests_path=f"apps/{app}",
            renderer=renderer,
            pin=pin,
            is_namespaced=lambda v, k: k != "Namespace",
            contents=contents,
        )
    )


def pin(app: str, **kw: Any) -> Pin:
    return Pin(app=app, release="rel-" + "1" * 20, **kw)


@needs_helm
def test_a_pinned_chart_version_is_pulled_once_verified_and_rendered_with_env_values(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    bare = bare_repo(
        {
            "apps/api/Chart.yaml": "apiVersion: v2\nname: api\nversion: 0.1.0\n",
            "apps/api/templates/cm.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: vendored}\n"
            ),
            "envs/staging/api/values.yaml": "color: blue\n",
        }
    )
    workspace = GitWorkspace(str(bare), tmp_path / "cache")
    cache = ChartCache(tmp_path / "charts", helm_binary())
    versions = {"1.0.0": CONFIGMAP_TEMPLATE, "1.1.0": CONFIGMAP_TEMPLATE}
    with served_helm_repo(tmp_path / "repo", "api", versions) as url:
        package = (tmp_path / "repo" / "charts" / "api-1.1.0.tgz").read_bytes()
        digest = "sha256:" + hashlib.sha256(package).hexdigest()
        contents = Contents(workspace, cache, url)
        tree = asyncio.run(workspace.read_tree(asyncio.run(workspace.sync())))
        pinned = pin("api", chart=PinChart(name="api", version="1.1.0", digest=digest))
        [configmap] = render(tree, "api", "helm", pinned, contents)
        assert cache.pulls == 1
    # The server is gone: the cached chart needs no network.
    again = render(tree, "api", "helm", pinned, contents)
    assert cache.pulls == 1 and again == [configmap]
    assert configmap["metadata"]["name"] == "api-chart"  # not the vendored chart
    assert configmap["data"] == {"chartVersion": "1.1.0", "color": "blue"}
    wrong = pin("api", chart=PinChart(name="api", version="1.1.0", digest="sha256:" + "0" * 64))
    with pytest.raises(RenderError, match="republished") as refused:
        render(tree, "api", "helm", wrong, contents)
    assert refused.value.file == "chart:api@1.1.0"
    missing = pin("api", chart=PinChart(name="api", version="9.9.9"))
    with pytest.raises(RenderError, match=r"helm pull api 9\.9\.9"):
        render(tree, "api", "helm", missing, contents)
    with pytest.raises(RenderError, match="renders with 'plain'"):
        render(tree, "api", "plain", pinned, contents)


def test_a_pinned_config_commit_renders_the_apps_manifests_of_that_commit(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    def configmap(value: str) -> str:
        return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: web}}\ndata: {{v: '{value}'}}\n"

    bare = bare_repo({"apps/web/cm.yaml": configmap("one"), "apps/other/cm.yaml": configmap("x")})
    first = git("rev-parse", "HEAD", cwd=bare).strip()
    seed = bare.with_suffix(".seed")
    (seed / "apps/web/cm.yaml").write_text(configmap("two"))
    git("commit", "--quiet", "-am", "web two", cwd=seed)
    git("push", "--quiet", str(bare), "main", cwd=seed)
    workspace = GitWorkspace(str(bare), tmp_path / "cache")
    contents = Contents(workspace, ChartCache(tmp_path / "charts"))
    head = asyncio.run(workspace.sync())
    tree = asyncio.run(workspace.read_tree(head))
    [now] = render(tree, "web", "plain", pin("web"), contents)
    [then] = render(tree, "web", "plain", pin("web", config=PinConfig(commit=first)), contents)
    [same] = render(tree, "web", "plain", pin("web", config=PinConfig(commit=head)), contents)
    assert (now["data"], then["data"], same["data"]) == ({"v": "two"}, {"v": "one"}, {"v": "two"})
    before = gitcmd.STARTED.copy()  # drift renders again and again: no git once known
    render(tree, "web", "plain", pin("web", config=PinConfig(commit=first)), contents)
    assert gitcmd.STARTED - before == Counter()
    unknown = pin("web", config=PinConfig(commit="f" * 40))
    with pytest.raises(RenderError, match=f"at pinned commit {'f' * 12}") as refused:
        render(tree, "web", "plain", unknown, contents)
    assert refused.value.file == "apps/web"


@needs_helm
def test_a_pinned_oci_chart_is_pulled_with_the_sources_credentials_and_ca(
    oci_registry: OciRegistry, tmp_path: Path
) -> None:
    """The real registry (TLS with a throwaway CA, htpasswd): pushed by helm, pulled by
    the chart cache with the credentials and CA a chart source would give."""
    env = {**os.environ, "HELM_CACHE_HOME": str(tmp_path / "hc"),
           "HELM_CONFIG_HOME": str(tmp_path / "hf"), "HELM_DATA_HOME": str(tmp_path / "hd"),
           "HELM_REGISTRY_CONFIG": str(tmp_path / "registry.json")}  # fmt: skip
    helm, ca = str(helm_binary()), str(oci_registry.ca_file)
    subprocess.run([helm, "registry", "login", oci_registry.host, "-u", oci_registry.user,
                    "--password-stdin", "--ca-file", ca], input=oci_registry.password.encode(),
                   check=True, capture_output=True, env=env)  # fmt: skip
    package_charts(tmp_path, "pinned", {"3.0.0": CONFIGMAP_TEMPLATE}, tmp_path / "pkg")
    pushed = subprocess.run([helm, "push", str(tmp_path / "pkg" / "pinned-3.0.0.tgz"),
                             f"oci://{oci_registry.host}/pinnedcharts", "--ca-file", ca],
                            check=True, capture_output=True, text=True, env=env)  # fmt: skip
    digest = re.search(r"Digest: (sha256:[0-9a-f]{64})", pushed.stdout + pushed.stderr)
    assert digest is not None
    cache = ChartCache(tmp_path / "charts", helm_binary())
    access = ChartAccess(oci_registry.user, oci_registry.password, ca)
    repository = f"oci://{oci_registry.host}/pinnedcharts"
    pulled = asyncio.run(cache.fetch(repository, "pinned", "3.0.0", digest.group(1), access))
    assert (pulled.directory / "Chart.yaml").read_text().startswith("apiVersion: v2\nname: pinned")
    assert pulled.digest == digest.group(1)
    kept = {p.name for p in pulled.directory.parent.parent.iterdir()}
    assert kept == {"chart", "digest"}  # the registry credentials were not kept
    with pytest.raises(ChartPullError) as refused:  # no credentials: the registry says no
        asyncio.run(ChartCache(tmp_path / "other").fetch(repository, "pinned", "3.0.0"))
    assert oci_registry.password not in str(refused.value)
