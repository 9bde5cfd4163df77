"""Registry credentials (never shown), the plugin registry, and which sources a receiver's
payload matches."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from shiplane.config import load_project_text
from shiplane.config.models import SOURCE_KINDS, SOURCE_SCHEMAS, RegistryCredentials
from shiplane.engine.sources.matching import (
    git_sources,
    image_and_chart_sources,
    normalise_git_url,
)
from shiplane.sources.credentials import (
    Credentials,
    CredentialsError,
    from_docker_config,
    load_credentials,
)
from shiplane.sources.plugins import SOURCES

SECRET = "pa55-w0rd-xyz"


def test_docker_config_auth_and_username_forms(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    auth = base64.b64encode(f"ci:{SECRET}".encode()).decode()
    path.write_text(json.dumps({"auths": {
        "https://Registry.Example/v1/": {"auth": auth},
        "other.example": {"username": "bot", "password": SECRET},
        "broken.example": {"auth": base64.b64encode(b"no-colon").decode()},
    }}))  # fmt: skip
    assert from_docker_config(path, "registry.example") == Credentials("ci", SECRET)
    assert from_docker_config(path, "other.example") == Credentials("bot", SECRET)
    with pytest.raises(CredentialsError) as info:
        from_docker_config(path, "broken.example")
    assert "does not hold 'username:password'" in str(info.value)
    with pytest.raises(CredentialsError, match=r"no credentials for missing\.example"):
        from_docker_config(path, "missing.example")


def test_file_and_env_and_secrets_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "auth"
    file.write_text(f"ci:{SECRET}\nignored\n")
    creds = load_credentials(RegistryCredentials(file=str(file)), "h")
    assert creds == Credentials("ci", SECRET)
    assert SECRET not in repr(creds)
    assert creds.basic() == "Basic " + base64.b64encode(f"ci:{SECRET}".encode()).decode()
    monkeypatch.setenv("REG_AUTH", f"u:{SECRET}")
    assert load_credentials(RegistryCredentials(env="REG_AUTH"), "h") == Credentials("u", SECRET)
    monkeypatch.setenv("REG_AUTH", SECRET)  # no colon: the error must not echo it
    with pytest.raises(CredentialsError) as info:
        load_credentials(RegistryCredentials(env="REG_AUTH"), "h")
    assert SECRET not in str(info.value)
    monkeypatch.delenv("REG_AUTH")
    with pytest.raises(CredentialsError, match="REG_AUTH is not set"):
        load_credentials(RegistryCredentials(env="REG_AUTH"), "h")
    with pytest.raises(CredentialsError, match="cannot read credentials file"):
        load_credentials(RegistryCredentials(file=str(tmp_path / "nope")), "h")
    assert load_credentials(None, "h") is None


def test_every_kind_is_a_registered_plugin_with_its_schema() -> None:
    assert SOURCES.names() == sorted(SOURCE_KINDS)
    for kind in SOURCE_KINDS:
        assert SOURCES.get(kind).schema is SOURCE_SCHEMAS[kind]


PROJECT = """
apiVersion: shiplane/v1alpha1
project: shop
clusters: {local: {kubeconfig: ~/.kube/config}}
environments: {dev: {cluster: local, namespace: d}}
apps:
  web: {images: [127.0.0.1:5000/shop/web], manifests: {path: apps/web}}
  api: {chart: {repository: oci://127.0.0.1:5000/charts, name: api}, manifests: {path: apps/api}}
sources:
  web: {image: {repository: 127.0.0.1:5000/shop/web}, apps: [web]}
  web-too: {image: {repository: 127.0.0.1:5000/shop/web, select: lexical}, apps: [web]}
  api-chart: {chart: {repository: oci://127.0.0.1:5000/charts, name: api}, apps: [api]}
  http-chart: {chart: {repository: https://charts.example, name: api}, apps: [api]}
  main: {git: {url: "https://Git.Example/shop/config.git"}, apps: [web]}
  release-tags: {git: {url: "git@git.example:shop/config", tags: "^v"}, apps: [web]}
"""


def test_matching_sources_for_receivers() -> None:
    sources = load_project_text(PROJECT).sources
    assert image_and_chart_sources(sources, "127.0.0.1:5000", "shop/web") == ["web", "web-too"]
    assert image_and_chart_sources(sources, "127.0.0.1:5000", "charts/api") == ["api-chart"]
    assert image_and_chart_sources(sources, "127.0.0.1:5001", "shop/web") == []
    assert git_sources(sources, "https://git.example/shop/config/", "refs/heads/main") == ["main"]
    assert git_sources(sources, "ssh://git@git.example/shop/config.git", "main") == ["main"]
    assert git_sources(sources, "https://git.example/shop/config", "refs/heads/dev") == []
    assert git_sources(sources, "https://git.example/shop/config", "refs/tags/v2") == [
        "release-tags"
    ]
    assert git_sources(sources, "https://git.example/shop/config", None) == ["main", "release-tags"]
    assert git_sources(sources, "https://git.example/other", None) == []


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://Git.Example/shop/config.git", "git.example/shop/config"),
        ("https://user:tok@git.example/shop/config/", "git.example/shop/config"),
        ("git@git.example:shop/config.git", "git.example/shop/config"),
        ("ssh://git@git.example/shop/config", "git.example/shop/config"),
        ("/srv/git/config.git", "/srv/git/config"),
    ],
)
def test_normalise_git_url(url: str, normal: str) -> None:
    assert normalise_git_url(url) == normal


def test_one_rate_limiter_per_host_the_lowest_limit_wins() -> None:
    from shiplane.config.models import RegistryAccess
    from shiplane.sources.plugins import RegistryClients

    clients = RegistryClients()
    first = clients.client("r.example", RegistryAccess(rate_limit=20))
    same = clients.client("r.example", RegistryAccess(rate_limit=50))
    assert same.limiter is first.limiter  # 50/s does not loosen the 20/s in force
    stricter = clients.client("r.example", RegistryAccess(rate_limit=5))
    assert stricter.limiter.interval == pytest.approx(0.2)
    assert clients.client("r.example", RegistryAccess()).limiter is stricter.limiter
    assert clients.client("other.example", RegistryAccess()).limiter is not stricter.limiter
