"""The scaffold is valid as written, with the promised layout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shiplane.config import load_project, load_project_text
from shiplane.config.scaffold import (
    ScaffoldError,
    create_project,
    project_name_for,
    scaffold_files,
)
from shiplane.config.yamlnodes import parse_yaml


def kubeconfig_of(cluster: str) -> str:
    return f"/kube/{cluster}.yaml"


def test_scaffold_config_is_valid_and_complete() -> None:
    files = scaffold_files("demo", kubeconfig_of)
    config = load_project_text(files["shiplane.yaml"], "shiplane.yaml")
    assert config.project == "demo"
    assert config.environment_order() == ["dev", "staging", "prod"]
    assert {a: c.manifests.render for a, c in config.apps.items()} == {
        "web": "plain",
        "api": "kustomize",
    }
    assert {name: c.kubeconfig for name, c in config.clusters.items()} == {
        "dev": "/kube/dev.yaml",
        "staging": "/kube/staging.yaml",
        "prod": "/kube/prod.yaml",
    }
    for app in config.apps.values():
        assert f"{app.manifests.path}/deployment.yaml" in files
    assert "apps/api/kustomization.yaml" in files
    for env in config.environments:
        for name in config.apps:
            assert f"envs/{env}/{name}/.keep" in files


def test_manifests_are_yaml_mappings() -> None:
    for path, content in scaffold_files("demo", kubeconfig_of).items():
        if path.endswith(".yaml"):
            doc = parse_yaml(content)
            assert doc.problems == [], path
            assert isinstance(doc.data, dict), path


@pytest.mark.parametrize(
    ("dirname", "project"),
    [("demo", "demo"), ("My Shop", "my-shop"), ("___", "demo"), ("a" * 80, "a" * 40)],
)
def test_project_name_from_directory(tmp_path: Path, dirname: str, project: str) -> None:
    assert project_name_for(tmp_path / dirname) == project


def test_create_project_commits_everything(tmp_path: Path) -> None:
    target = tmp_path / "shop"
    paths = create_project(target, kubeconfig_of)
    assert load_project(target / "shiplane.yaml").project == "shop"
    tracked = subprocess.run(
        ["git", "-C", str(target), "ls-files"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(tracked) == sorted(paths)
    status = subprocess.run(
        ["git", "-C", str(target), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == ""


def test_create_project_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "shiplane.yaml").write_text("mine\n")
    with pytest.raises(ScaffoldError, match="already exists"):
        create_project(tmp_path, kubeconfig_of)
    assert (tmp_path / "shiplane.yaml").read_text() == "mine\n"
    assert not (tmp_path / "apps").exists()


def test_create_project_refuses_other_existing_files(tmp_path: Path) -> None:
    (tmp_path / "apps" / "web").mkdir(parents=True)
    (tmp_path / "apps" / "web" / "service.yaml").write_text("mine\n")
    with pytest.raises(ScaffoldError, match=r"apps/web/service\.yaml"):
        create_project(tmp_path, kubeconfig_of)
    assert not (tmp_path / "shiplane.yaml").exists()


def test_create_project_in_a_clone_with_a_readme_keeps_it(tmp_path: Path) -> None:
    # A fresh clone of a new, empty repository from a forge: a README and a .git already.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "README.md").write_text("# our platform repo\n")
    paths = create_project(tmp_path, kubeconfig_of)
    assert (tmp_path / "README.md").read_text() == "# our platform repo\n"
    assert "README.md" not in paths and "shiplane.yaml" in paths
    tracked = subprocess.run(
        ["git", "-C", str(tmp_path), "ls-files"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(tracked) == sorted(paths)  # the user's README is theirs to commit
