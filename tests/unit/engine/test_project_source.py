"""The project in force: swapped whole, rejected versions bounded, steps pinned to one
version; the settings and wording around following shiplane.yaml in git."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from shiplane.api.routes_config import _location
from shiplane.api.server import ServeError, ServeOptions, resolve_git_poll
from shiplane.cli.cmd_status import config_lines
from shiplane.config import load_project_text
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.git_watch import config_problems
from shiplane.engine.project_source import MAX_ERROR_CHARS, MAX_ERRORS, ProjectSource
from shiplane.engine.promotions.runtime import Runtime

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def project(*envs: str, kubeconfig: str = "/k/one") -> Any:
    return load_project_text(project_text(*envs, kubeconfig=kubeconfig))


def project_text(*envs: str, kubeconfig: str = "/k/one") -> str:
    lines = [
        "apiVersion: shiplane/v1alpha1",
        "project: shop",
        "clusters:",
        f"  one: {{kubeconfig: {kubeconfig}}}",
        "  two: {kubeconfig: /k/two}",
        "environments:",
        *(f"  {e}: {{cluster: one, namespace: {e}}}" for e in envs),
        "apps:",
        "  web: {images: [r.example/web], manifests: {path: apps/web}}",
    ]
    return "\n".join(lines) + "\n"


def test_apply_swaps_the_whole_version_and_clears_a_rejection():
    source = ProjectSource(project("dev"), commit="a" * 40, following=True, now=lambda: T0)
    first = source.version
    source.reject("b" * 40, ["shiplane.yaml:3:1: x: broken"])
    assert source.rejected is not None and source.version is first  # the good one stays
    previous = source.apply(project("dev", "prod"), "c" * 40, Path("/trees/c"))
    assert previous is first
    assert list(source.project.environments) == ["dev", "prod"]
    assert (source.version.commit, source.version.base_dir) == ("c" * 40, Path("/trees/c"))
    assert source.rejected is None


def test_rejected_errors_are_bounded():
    source = ProjectSource(project("dev"))
    errors = [f"shiplane.yaml:{i}:1: f: " + "v" * 1000 for i in range(MAX_ERRORS + 5)]
    rejected = source.reject("b" * 40, errors)
    assert rejected.count == MAX_ERRORS + 5
    assert len(rejected.errors) == MAX_ERRORS
    assert all(len(e) == MAX_ERROR_CHARS and e.endswith("...") for e in rejected.errors)


def test_a_pinned_source_keeps_its_version_while_the_source_moves_on():
    source = ProjectSource(project("dev"), commit="a" * 40, following=True)
    pinned = source.pinned()
    source.apply(project("dev", "prod"), "c" * 40, Path("."))
    assert list(pinned.project.environments) == ["dev"]
    assert pinned.version.commit == "a" * 40
    assert ProjectSource.of(source) is source


def test_a_promotion_step_runs_on_one_version():
    source = ProjectSource(project("dev"), commit="a" * 40)
    rt = Runtime(
        db=cast(Any, None),
        source=source,
        deployer=cast(Any, None),
        clusters=cast(Any, None),
        clock=cast(Any, None),
        leases=cast(Any, None),
    )
    step = rt.pinned()
    source.apply(project("dev", "prod"), "c" * 40, Path("."))
    assert list(step.project.environments) == ["dev"] and step.config_commit == "a" * 40
    assert list(rt.project.environments) == ["dev", "prod"] and rt.config_commit == "c" * 40
    assert step.background is rt.background  # work spawned by a step is still stopped


def test_clusters_whose_settings_changed_are_retired():
    old, new = project("dev"), project("dev", kubeconfig="/k/other")
    pool = ClusterPool(ProjectSource(old), Path("."))
    handles = {"one": cast(Any, object()), "two": cast(Any, object())}
    pool._handles.update(handles)
    assert pool.follow(old, new) == ["one"]
    assert set(pool._handles) == {"two"} and pool._retired == [handles["one"]]


def test_config_problems_are_located_and_a_missing_file_is_one():
    good, none = config_problems(project_text("dev").encode())
    assert good is not None and none == []
    bad, errors = config_problems(b"\xef\xbb\xbfapiVersion: [\n")
    assert bad is None and errors and errors[0].startswith("shiplane.yaml:")
    missing, errors = config_problems(None)
    assert missing is None and "file not found" in errors[0]


def test_readyz_shows_where_errors_are_not_what_they_quote():
    error = "shiplane.yaml:12:5: notifications.hook.url: expected a URL, got 'https://x?t=SECRET'"
    assert _location(error) == "shiplane.yaml:12:5 notifications.hook.url"
    assert _location("shiplane.yaml: file not found at the repository root") == "shiplane.yaml"


@pytest.mark.parametrize(
    ("flag", "env", "expected"),
    [(None, None, 30.0), (None, "5", 5.0), (2.5, "5", 2.5), (0, None, 0.0), (None, "0", 0.0)],
)
def test_git_poll_comes_from_the_flag_then_the_environment(
    monkeypatch: pytest.MonkeyPatch, flag: float | None, env: str | None, expected: float
):
    if env is None:
        monkeypatch.delenv("SHIPLANE_GIT_POLL_SECONDS", raising=False)
    else:
        monkeypatch.setenv("SHIPLANE_GIT_POLL_SECONDS", env)
    assert resolve_git_poll(ServeOptions(git_poll=flag)) == expected


@pytest.mark.parametrize("value", ["soon", "0.1", "7200", "-1"])
def test_a_bad_git_poll_is_refused_naming_its_source(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv("SHIPLANE_GIT_POLL_SECONDS", value)
    with pytest.raises(ServeError, match="SHIPLANE_GIT_POLL_SECONDS"):
        resolve_git_poll(ServeOptions())


def test_status_shows_the_config_in_force_and_a_refused_version():
    matrix: dict[str, Any] = {
        "config": {
            "source": "git",
            "following": True,
            "branch": "main",
            "commit": "a" * 40,
            "rejected": {
                "commit": "b" * 40,
                "count": 4,
                "errors": [f"shiplane.yaml:{i}:1: f{i}: bad" for i in range(4)],
            },
        }
    }
    lines = config_lines(matrix)
    assert lines[0] == "CONFIG shiplane.yaml at aaaaaaaaaaaa, following main"
    assert lines[1] == (
        "CONFIG REJECTED shiplane.yaml at bbbbbbbbbbbb (4 errors); still in force: aaaaaaaaaaaa"
    )
    assert lines[2:] == [
        "  shiplane.yaml:0:1: f0: bad",
        "  shiplane.yaml:1:1: f1: bad",
        "  shiplane.yaml:2:1: f2: bad",
        "  ... and 1 more (shiplane validate)",
    ]
    assert config_lines(matrix, in_force=False)[0].startswith("CONFIG REJECTED")
    assert config_lines({"config": {"source": "file", "commit": None}}) == []
