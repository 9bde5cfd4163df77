"""The deployer's seam for progressive strategies, on real git and a real cluster: the
`strategy` step sees the rendered objects before the commit and may refuse (nothing
reaches git); `to_cluster=False` commits and applies nothing; the full deploy afterwards
finds that commit instead of making a second one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from lightkube.resources.apps_v1 import Deployment

from shiplane.engine.deploy import DeployError
from shiplane.strategies import STRATEGIES
from tests.integration.engine.conftest import GitopsEnv
from tests.integration.engine.test_deploy import exists, run

pytestmark = pytest.mark.cluster
WEB = "registry.example/shop/web"


def test_a_gateway_canary_without_an_httproute_is_refused_before_the_commit(
    gitops_env: GitopsEnv,
):
    env = gitops_env
    before = env.commits()
    canary = STRATEGIES.get("canary")
    config = canary.schema.model_validate({"traffic": "gatewayAPI", "steps": [{"setWeight": 10}]})

    def inspect(app: str, objects: Sequence[Mapping[str, Any]]) -> str | None:
        canary.plugin.start(config, app, objects)
        return None

    rel = env.release(web=f"{WEB}:1.0.0")
    with pytest.raises(DeployError) as err:
        run(env, lambda: env.deployer.deploy(rel, "dev", actor="a", apps=["web"], inspect=inspect))
    assert err.value.step == "strategy"
    assert "needs an HTTPRoute named 'web'" in str(err.value)
    assert err.value.outcome is None  # nothing of it reached the cluster or git
    assert env.commits() == before


def test_commit_first_then_the_full_deploy_finds_the_commit(gitops_env: GitopsEnv):
    env = gitops_env
    seen: dict[str, list[str]] = {}

    def inspect(app: str, objects: Sequence[Mapping[str, Any]]) -> str | None:
        seen[app] = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objects)
        return "canary"

    rel = env.release(web=f"{WEB}:1.0.0")
    first = run(
        env,
        lambda: env.deployer.deploy(
            rel, "dev", actor="a", apps=["web"], promotion_id="prm-x", to_cluster=False,
            inspect=inspect,
        ),
    )  # fmt: skip
    assert seen == {"web": ["ConfigMap/web-config", "Deployment/web", "Service/web"]}
    assert first.git_commit and first.commit_created
    assert not exists(env, Deployment, "web", env.namespaces["dev"])  # committed only
    commits = env.commits()
    second = run(
        env, lambda: env.deployer.deploy(rel, "dev", actor="a", apps=["web"], promotion_id="prm-x")
    )
    assert second.git_commit == first.git_commit and not second.commit_created
    assert env.commits() == commits  # the same commit, found by its trailer
    assert exists(env, Deployment, "web", env.namespaces["dev"])
