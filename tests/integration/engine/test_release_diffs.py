"""The diffs the promote drawer and the release page show, on real git and a real local
cluster: a release against live (its pins rendered over HEAD, server-side dry-run) and
release against release. Neither commits nor applies anything."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment

from shiplane.engine.deploy import DeployError
from shiplane.engine.diffs import AppDiff, Diffs, ObjectDiff
from tests.integration.engine.conftest import GitopsEnv

pytestmark = pytest.mark.cluster

T = TypeVar("T")
WEB = "registry.example/shop/web"
Scenario = tuple[
    list[AppDiff], list[str], list[AppDiff], list[AppDiff], dict[str, list[ObjectDiff]]
]


def run(env: GitopsEnv, scenario: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        try:
            return await scenario()
        finally:
            await env.deployer.clusters.close()

    return asyncio.run(main())


def _changed(diff: str, sign: str) -> list[str]:
    """The changed lines of a unified diff on one side, without their indentation."""
    return [
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith(sign) and not line.startswith(sign * 3)
    ]


def _diffs(env: GitopsEnv) -> Diffs:
    d = env.deployer
    return Diffs(env.db, env.project, d.workspace, d.clusters, d)


def test_a_release_against_live_commits_and_applies_nothing(gitops_env: GitopsEnv) -> None:
    env = gitops_env
    one = env.release(web=f"{WEB}:1.0.0", api="registry.example/shop/api:1.0.0")
    two = env.release(web=f"{WEB}:2.0.0", api="registry.example/shop/api:1.0.0")
    diffs = _diffs(env)
    before = env.commits()

    async def scenario() -> Scenario:
        fresh = await diffs.release_vs_live(one, "dev")
        untouched = env.commits()
        with pytest.raises(ApiError):  # nor applied anything
            env.kube.get(Deployment, "web", namespace=env.namespaces["dev"])
        await env.deployer.deploy(one, "dev", actor="alice")
        same = await diffs.release_vs_live(one, "dev")
        newer = await diffs.release_vs_live(two, "dev")
        between = await diffs.between_releases(one, two, "dev")
        return fresh, untouched, same, newer, between

    fresh, untouched, same, newer, between = run(env, scenario)
    assert untouched == before  # the preview pushed nothing
    # In the project's order (api depends on web), every object new before the deploy.
    assert [a.app for a in fresh] == ["web", "api"]
    assert {o.change for a in fresh for o in a.objects} == {"create"}
    assert not any(a.changed for a in same)
    web, api = newer
    assert api.changed is False and web.changed is True
    [deployment] = [o for o in web.objects if o.ref.startswith("Deployment/")]
    assert deployment.change == "update"
    [added] = _changed(deployment.diff, "+")
    assert added.endswith(f"image: {WEB}:2.0.0")
    # Release against release: the web Deployment differs in its image; api is the same.
    assert {o.ref: o.change for o in between["api"]} == {"Deployment/api": "same"}
    web_objects = {o.ref: o for o in between["web"]}
    assert web_objects["Deployment/web"].change == "differs"
    [removed] = _changed(web_objects["Deployment/web"].diff, "-")
    assert removed.endswith(f"image: {WEB}:1.0.0")
    assert web_objects["ConfigMap/web-config"].change == "same"


def test_a_release_naming_an_unknown_app_is_refused(gitops_env: GitopsEnv) -> None:
    env = gitops_env
    odd = env.release(web=f"{WEB}:1.0.0", nope="registry.example/shop/nope:1")
    with pytest.raises(DeployError, match=r"apps that shiplane\.yaml does not define: nope"):
        run(env, lambda: _diffs(env).release_vs_live(odd, "dev"))
