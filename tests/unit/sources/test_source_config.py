"""`sources:` and the release assembly settings load into typed models."""

from __future__ import annotations

from pathlib import Path

from shiplane.config import load_project
from shiplane.config.models import (
    GitSourceConfig,
    ImageSourceConfig,
    split_repository,
)

VALID = Path(__file__).parents[1] / "config" / "valid"


def test_sources_file_loads_with_kinds_and_defaults() -> None:
    config = load_project(VALID / "sources.yaml")
    web = config.sources["web"]
    assert web.kind == "image"
    assert web.interval == 30
    spec = web.spec
    assert isinstance(spec, ImageSourceConfig)
    assert (spec.select, spec.constraint, spec.discovery_limit) == ("semver", ">=1.0 <2", 20)
    assert (spec.host, spec.path) == ("127.0.0.1:5000", "shop/web")
    assert spec.ignore_tags == (r"\.sig$", r"\.att$", r"\.sbom$")
    assert spec.credentials is not None and spec.credentials.docker_config
    assert spec.rate_limit == 5
    assert config.sources["api"].spec.platform == "linux/amd64"  # type: ignore[attr-defined]
    assert config.sources["api-chart"].kind == "chart"
    git = config.sources["config"].spec
    assert isinstance(git, GitSourceConfig) and git.branch == "main"
    assert config.sources["config"].interval == 300  # the default: 5 minutes
    assert config.releases.assemble == "changed"
    assert config.releases.digests == "require"
    assert config.releases.criterion == "artifacts.web.tag == artifacts.api.tag"


def test_minimal_project_has_no_sources_and_takes_tags_as_given() -> None:
    config = load_project(VALID / "minimal.yaml")
    assert config.sources == {}
    assert (config.releases.assemble, config.releases.digests) == ("all", "off")


def test_split_repository_names_the_registry_host() -> None:
    assert split_repository("127.0.0.1:5000/shop/web") == ("127.0.0.1:5000", "shop/web")
    assert split_repository("Registry.Example/a/b") == ("registry.example", "a/b")
    assert split_repository("localhost/x") == ("localhost", "x")
    assert split_repository("nginx") == ("docker.io", "library/nginx")
    assert split_repository("bitnami/nginx") == ("docker.io", "bitnami/nginx")
