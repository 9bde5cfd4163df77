"""`forge` in shiplane.yaml: exactly one forge, its own schema, the token only by
reference, errors located at their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.config import ConfigError, SecretNotSetError, load_project_text
from shiplane.forge import FORGES
from tests.support.api_project import PROJECT_YAML


def problems(extra: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_project_text(PROJECT_YAML + extra)
    return [f"{p.line}:{p.field}: {p.message}" for p in error.value.problems]


def test_each_forge_loads_with_its_defaults() -> None:
    github = load_project_text(
        PROJECT_YAML + "forge:\n  github: {repository: acme/gitops, tokenEnv: GH_TOKEN}\n"
    ).forge
    assert github is not None and github.type == "github"
    assert github.access.url == "https://api.github.com" and github.access.timeout == 30
    gitlab = load_project_text(
        PROJECT_YAML
        + "forge:\n  gitlab: {repository: group/sub/gitops, tokenFile: /t, timeout: 2m}\n"
    ).forge
    assert gitlab is not None and gitlab.access.url == "https://gitlab.com"
    assert gitlab.access.timeout == 120
    assert FORGES.names() == ["gitea", "github", "gitlab"]
    assert "url" in FORGES.get("gitea").json_schema()["required"]


def test_gitea_needs_its_url_and_the_error_is_located() -> None:
    found = problems("forge:\n  gitea: {repository: shop/gitops, tokenEnv: T}\n")
    line = PROJECT_YAML.count("\n") + 2
    assert len(found) == 1 and found[0].startswith(f"{line}:forge.gitea.url: ")


def test_exactly_one_forge_and_one_token_reference() -> None:
    assert "exactly one of: gitea, github, gitlab" in problems("forge: {}\n")[0]
    section = "{repository: a/b, tokenEnv: T}"
    two = f"forge:\n  github: {section}\n  gitlab: {section}\n"
    assert "found: github, gitlab" in problems(two)[0]
    neither = problems("forge:\n  github: {repository: a/b}\n")
    assert "exactly one of 'tokenEnv'" in neither[0]
    relative = problems("forge:\n  github: {repository: a/b, tokenFile: token.txt}\n")
    assert "absolute path" in relative[0]
    assert "repository" in problems("forge:\n  github: {repository: nope, tokenEnv: T}\n")[0]


def test_a_token_written_in_the_file_is_refused_without_quoting_it() -> None:
    found = problems("forge:\n  github: {repository: a/b, token: ghp_abcdefabcdef}\n")
    assert "never written in shiplane.yaml" in found[0] and "ghp_" not in found[0]


def test_the_token_is_read_from_its_variable_or_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("from-file\n")
    project = load_project_text(
        PROJECT_YAML + f"forge:\n  github: {{repository: a/b, tokenFile: {path}}}\n"
    )
    assert project.forge is not None and project.forge.access.token_value() == "from-file"
    by_env = load_project_text(PROJECT_YAML + "forge:\n  github: {repository: a/b, tokenEnv: T}\n")
    assert by_env.forge is not None and by_env.forge.access.token_value({"T": "x"}) == "x"
    with pytest.raises(SecretNotSetError, match="T \\(forge token\\) is not set"):
        by_env.forge.access.token_value({})


def pull_request_mode(extra: str = "") -> str:
    return (
        PROJECT_YAML.replace(
            "prod: {cluster: local, namespace: prod, after: [staging]}",
            "prod: {cluster: local, namespace: prod, after: [staging], "
            "gitops: {mode: pull-request, pollInterval: 5s}}",
        )
        + extra
    )


def test_pull_request_mode_needs_a_forge_and_says_so_where_it_is_asked_for() -> None:
    with pytest.raises(ConfigError) as error:
        load_project_text(pull_request_mode())
    (problem,) = error.value.problems
    assert problem.field == "environments.prod.gitops.mode"
    assert "needs a 'forge' section" in problem.message
    forge = "forge:\n  gitea: {url: 'http://127.0.0.1:3000', repository: a/b, tokenEnv: T}\n"
    project = load_project_text(pull_request_mode(forge))
    assert project.environments["prod"].gitops.mode == "pull-request"
    assert project.environments["prod"].gitops.poll_interval == 5
    assert project.environments["dev"].gitops.mode == "push"  # the default


def test_an_unknown_gitops_mode_is_refused() -> None:
    text = PROJECT_YAML.replace(
        "dev: {cluster: local, namespace: dev}",
        "dev: {cluster: local, namespace: dev, gitops: {mode: pr}}",
    )
    with pytest.raises(ConfigError) as error:
        load_project_text(text)
    assert "environments.dev.gitops.mode" in error.value.problems[0].field


FORGE_SECTION = "forge:\n  gitea: {url: 'http://127.0.0.1:3000', repository: a/b, tokenEnv: T}\n"


def prod(spec: str) -> str:
    return (
        PROJECT_YAML.replace(
            "prod: {cluster: local, namespace: prod, after: [staging]}",
            f"prod: {{cluster: local, namespace: prod, after: [staging], {spec}}}",
        )
        + FORGE_SECTION
    )


def test_forge_reviews_and_the_rollback_policy_load() -> None:
    project = load_project_text(
        prod(
            "gitops: {mode: pull-request, rollback: pull-request}, "
            "approvals: {required: 2, fromForge: count, users: [bob, carol]}"
        )
    )
    env = project.environments["prod"]
    assert env.approvals is not None and env.approvals.from_forge == "count"
    assert env.gitops.rollback == "pull-request"
    assert project.environments["dev"].gitops.rollback == "direct"  # the default


def test_forge_reviews_need_pull_request_mode_and_cannot_be_judged_by_group() -> None:
    with pytest.raises(ConfigError) as error:
        load_project_text(prod("approvals: {fromForge: also}"))
    assert "needs gitops.mode: pull-request" in error.value.problems[0].message
    with pytest.raises(ConfigError) as error:
        load_project_text(
            prod("gitops: {mode: pull-request}, approvals: {fromForge: count, groups: [ops]}")
        )
    assert "carry no groups" in error.value.problems[0].message
    with pytest.raises(ConfigError):
        load_project_text(prod("gitops: {mode: pull-request}, approvals: {fromForge: yes}"))
