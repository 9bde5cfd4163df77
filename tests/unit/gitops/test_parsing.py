"""YAML documents, helm output, redaction, repository paths, the registry: pure logic."""

from __future__ import annotations

import re

import pytest

from shiplane.domain.registry import PluginConfigError, Registry, UnknownPluginError
from shiplane.gitops import RENDERERS
from shiplane.gitops.paths import check_repo_path
from shiplane.gitops.redact import scrub, split_userinfo, tail
from shiplane.gitops.remotes import cache_key, normalise_remote
from shiplane.gitops.renderers.helm import file_from_error, split_helm_output
from shiplane.gitops.renderers.yamldocs import ManifestError, load_documents


def test_load_documents_skips_empty_and_expands_lists() -> None:
    text = (
        "---\n# comment only\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {day: 2024-01-01, on: yes}\n"
        "---\n"
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n"
        "- {apiVersion: v1, kind: Service, metadata: {generateName: svc-}}\n"
        "---\n"
    )
    docs = load_documents(text, "x.yaml")
    assert [d.obj["kind"] for d in docs] == ["ConfigMap", "Secret", "Service"]
    assert docs[0].obj["data"]["day"] == "2024-01-01"
    assert {d.source for d in docs} == {"x.yaml"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1\n", "invalid YAML at line 2"),
        ("just a string\n", "document 1 is a str"),
        ("kind: ConfigMap\nmetadata: {name: a}\n", "document 1 has no apiVersion"),
        ("apiVersion: v1\nkind: ConfigMap\n", "document 1 (ConfigMap) has no metadata"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {}}\n", "has no metadata.name"),
        ("apiVersion: v1\nkind: List\nitems: [3]\n", "items[0] is not a mapping"),
    ],
)
def test_load_documents_errors(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=re.escape(message)):
        load_documents(text, "x.yaml")


def test_split_helm_output_tracks_sources() -> None:
    text = (
        "---\n# Source: payments/templates/service.yaml\napiVersion: v1\n"
        "---\n# Source: payments/charts/db/templates/sts.yaml\napiVersion: apps/v1\n"
    )
    sources = [s for s, chunk in split_helm_output(text, "apps/payments") if chunk.strip()]
    assert sources == [
        "apps/payments/templates/service.yaml",
        "apps/payments/charts/db/templates/sts.yaml",
    ]


@pytest.mark.parametrize(
    ("stderr", "file"),
    [
        (
            "Error: parse error at (payments/templates/x.yaml:1): bad",
            "apps/payments/templates/x.yaml",
        ),
        (
            "Error: YAML parse error on payments/templates/y.yml: oops",
            "apps/payments/templates/y.yml",
        ),
        ("Error: failed to parse envs/qa/payments/values.yaml: x", "envs/qa/payments/values.yaml"),
        ("Error: cannot load values.yaml: error converting", "apps/payments/values.yaml"),
        ("Error: something else", "apps/payments/Chart.yaml"),
    ],
)
def test_file_from_helm_error(stderr: str, file: str) -> None:
    assert file_from_error(stderr, "apps/payments", ["envs/qa/payments/values.yaml"]) == file


def test_scrub_and_userinfo() -> None:
    text = "fatal: unable to access 'https://bot:s3cret-pw@git.example/r.git/': denied s3cret-pw"
    assert (
        scrub(text, ["s3cret-pw"])
        == "fatal: unable to access 'https://***@git.example/r.git/': denied ***"
    )
    assert scrub("ab ab", ["ab"]) == "ab ab"  # too short to replace blindly
    assert split_userinfo("https://u:p%40ss@h.example:8443/r.git") == (
        "https://h.example:8443/r.git",
        "u",
        "p@ss",
    )
    assert split_userinfo("git://h/r.git") == ("git://h/r.git", None, None)
    assert split_userinfo("/srv/repo.git") == ("/srv/repo.git", None, None)
    assert tail("\n".join(str(i) for i in range(50)), lines=3) == "47\n48\n49"


def test_remotes_and_cache_keys() -> None:
    assert normalise_remote("https://h/r.git/") == "https://h/r.git"
    assert normalise_remote("git@github.com:org/r.git") == "git@github.com:org/r.git"
    assert normalise_remote("/srv/r.git") == "/srv/r.git"
    assert normalise_remote("relative/r.git").startswith("/")
    for bad in ("ext::sh -c x", "ftp://h/r", "fd::3"):
        with pytest.raises(ValueError):
            normalise_remote(bad)
    # Credentials in the URL do not change which working copy is used.
    assert cache_key("https://u:p@h/r.git") == cache_key("https://h/r.git")
    assert cache_key("https://h/a.git") != cache_key("https://h/b.git")


@pytest.mark.parametrize("path", ["", "/abs", "a/../b", "./a", "a//b", ".git/config", "a\\b"])
def test_repo_paths_stay_inside(path: str) -> None:
    with pytest.raises(ValueError):
        check_repo_path(path)


def test_registry() -> None:
    assert RENDERERS.names() == ["helm", "kustomize", "plain"]
    assert isinstance(RENDERERS, Registry)
    with pytest.raises(UnknownPluginError) as info:
        RENDERERS.get("jsonnet")
    assert str(info.value) == "unknown renderer 'jsonnet' (known: helm, kustomize, plain)"
    with pytest.raises(UnknownPluginError, match="did you mean 'helm'"):
        RENDERERS.get("hlem")
    config = RENDERERS.parse_config(
        "helm", {"releaseName": "pay", "valuesFiles": ["common/values.yaml"]}
    )
    assert config.model_dump()["release_name"] == "pay"
    assert RENDERERS.parse_config("helm", config) is config
    assert "releaseName" in RENDERERS.get("helm").json_schema()["properties"]
    assert RENDERERS.get("plain").description
    with pytest.raises(PluginConfigError, match="renderer 'kustomize': load_restrictor"):
        RENDERERS.parse_config("kustomize", {"load_restrictor": "Everything"})
