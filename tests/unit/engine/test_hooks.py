"""The webhook intake: match, allow-list, replay refusal, audit, refresh without waiting.

The source service is an in-memory test double (tests/support/sources_double.py): the
real one lands in the artifact-sources branch. The database is a real SQLite file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from shiplane.config import load_project_text
from shiplane.config.models import ProjectConfig, ReceiverConfig
from shiplane.engine.git_push import PushPlan, environments_of
from shiplane.engine.hooks import HookIntake
from shiplane.sources.receivers import DeliveryRefused
from shiplane.store import audit
from shiplane.store.db import Database
from tests.support.api_project import PROJECT_YAML
from tests.support.sources_double import RecordingSources
from tests.unit.sources import payloads as p

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def project(**receivers: ReceiverConfig) -> ProjectConfig:
    base = load_project_text(PROJECT_YAML)
    return base.model_copy(update={"receivers": receivers})


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'hooks.db'}")
    database.migrate()
    yield database
    database.close()


@pytest.fixture
def sources() -> RecordingSources:
    return RecordingSources(
        images={("127.0.0.1:5000", "shop/web"): ["web", "web-canary"]},
        git={("https://github.com/acme/config.git", "refs/heads/main"): ["config"]},
    )


def intake(
    db: Database, sources: RecordingSources | None, clock: Clock, **receivers: ReceiverConfig
) -> HookIntake:
    config = project(**receivers)
    return HookIntake(
        db,
        project=lambda: config,
        sources=lambda: sources,
        environ={"HOOK_SECRET": p.SECRET},
        clock=clock,
    )


def receiver(type_: str, **extra: Any) -> ReceiverConfig:
    return ReceiverConfig.model_validate({"type": type_, "secretEnv": "HOOK_SECRET", **extra})


def events(db: Database) -> list[dict[str, Any]]:
    with db.session(readonly=True) as s:
        page = audit.list_events(s, limit=100)
    return [{"action": e.action, "actor": e.actor, **e.details} for e in page.items]


def test_an_accepted_delivery_refreshes_the_matching_sources(
    db: Database, sources: RecordingSources
) -> None:
    hooks = intake(db, sources, Clock(), registry=receiver("distribution"))
    outcome = hooks.accept("registry", p.distribution(p.distribution_envelope()))
    assert outcome.matched == ["web", "web-canary"]
    assert outcome.changes == ["127.0.0.1:5000/shop/web:1.4.2"]
    assert sources.asked == [("127.0.0.1:5000", "shop/web")]

    async def answer_then_refresh() -> None:
        sources.refresh_delay = 0.05
        hooks.refresh_soon(outcome)
        assert sources.refreshed == []  # the answer does not wait for the refresh
        await hooks.drain()

    asyncio.run(answer_then_refresh())
    assert sources.refreshed == [(("web", "web-canary"), "webhook registry (distribution push)")]
    [event] = events(db)
    assert event["action"] == "hook.received"
    assert event["actor"] == "hook:registry"
    assert event["matched"] == ["web", "web-canary"]
    assert event["changes"] == ["127.0.0.1:5000/shop/web:1.4.2"]


def test_the_allow_list_narrows_what_a_receiver_may_refresh(
    db: Database, sources: RecordingSources
) -> None:
    hooks = intake(db, sources, Clock(), registry=receiver("distribution", sources=["web"]))
    outcome = hooks.accept("registry", p.distribution(p.distribution_envelope()))
    assert outcome.matched == ["web"]
    assert events(db)[0]["not_allowed"] == ["web-canary"]


def test_nothing_matching_is_accepted_but_refreshes_nothing(
    db: Database, sources: RecordingSources
) -> None:
    hooks = intake(db, sources, Clock(), gh=receiver("github"))
    outcome = hooks.accept("gh", p.github("push", p.github_push("refs/heads/feature")))
    assert outcome.matched == [] and outcome.outcome == "ignored"
    assert outcome.ignored == "no configured source watches what changed"
    hooks.refresh_soon(outcome)  # no task: nothing to refresh
    assert sources.refreshed == []


def test_replays_by_id_or_content_are_refused_until_the_window_passes(
    db: Database, sources: RecordingSources
) -> None:
    clock = Clock()
    hooks = intake(db, sources, clock, gh=receiver("github", replayWindow="10m"))
    first = p.github("push", p.github_push(), delivery="d-1")
    assert hooks.accept("gh", first).matched == ["config"]
    for again in (first, p.github("push", p.github_push(), delivery="d-2")):
        with pytest.raises(DeliveryRefused) as refused:
            hooks.accept("gh", again)
        assert refused.value.reason == "replayed"
    same_id = p.github("push", {**p.github_push(), "after": "1" * 40}, delivery="d-1")
    with pytest.raises(DeliveryRefused):
        hooks.accept("gh", same_id)
    clock.now += 601
    assert hooks.accept("gh", first).matched == ["config"]
    actions = [e["action"] for e in events(db)]
    assert actions.count("hook.received") == 2 and actions.count("hook.refused") == 3


def test_refusals_are_audited_change_nothing_and_never_hold_the_secret(
    db: Database, sources: RecordingSources
) -> None:
    hooks = intake(db, sources, Clock(), gh=receiver("github"), ci=receiver("generic"))
    forged = p.github("push", p.github_push(), secret="not-the-secret-at-all")
    cases = [
        ("nope", forged, "unknown-receiver"),
        ("gh", forged, "bad-signature"),
        ("ci", p.generic({"images": ["h/r:1"]}, timestamp=int(T0) - 3600), "stale"),
        ("gh", p.Delivery({"x-github-event": "push"}, b"{}"), "unauthenticated"),
    ]
    for name, delivery, reason in cases:
        with pytest.raises(DeliveryRefused) as refused:
            hooks.accept(name, delivery)
        assert refused.value.reason == reason
    trail = events(db)
    assert [e["reason"] for e in trail] == [c[2] for c in reversed(cases)]
    assert all(e["action"] == "hook.refused" for e in trail)
    assert p.SECRET not in json.dumps(trail)
    assert sources.asked == []  # nothing was matched, so nothing can be refreshed
    # The forged delivery was not remembered: the genuine one is accepted.
    assert hooks.accept("gh", p.github("push", p.github_push())).matched == ["config"]


def test_an_unset_secret_or_no_source_service_is_not_configured(
    db: Database, sources: RecordingSources
) -> None:
    config = project(gh=receiver("github", secretEnv="UNSET_SECRET"))
    hooks = HookIntake(db, project=lambda: config, sources=lambda: sources, environ={})
    with pytest.raises(DeliveryRefused) as refused:
        hooks.accept("gh", p.github("push", p.github_push()))
    assert refused.value.reason == "not-configured"
    assert "UNSET_SECRET" not in refused.value.message
    without = intake(db, None, Clock(), gh=receiver("github"))
    with pytest.raises(DeliveryRefused) as refused:
        without.accept("gh", p.github("push", p.github_push()))
    assert refused.value.reason == "not-configured"


# --- pushes to the GitOps branch (engine/git_push.py) -------------------------------------


class Pushes:
    """A double of `GitPushFollower`: follows one repository's main, records pushes."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, str]] = []

    def follows(self, url: str, ref: str | None) -> bool:
        return url == "http://localhost:3000/gitea/webhooks.git" and ref == "refs/heads/main"

    def plan(self, after: str | None, paths: Sequence[str] | None) -> PushPlan:
        if paths is None:
            return PushPlan(after, (), by_diff=True)
        return PushPlan(after, tuple(environments_of(paths, ["dev", "staging", "prod"])), False)

    def pushed(self, plan: PushPlan, *, actor: str) -> None:
        self.calls.append((plan, actor))


def gitops_push(ref: str = "refs/heads/main") -> Any:
    payload = p.gitea_push()
    payload["ref"] = ref
    payload["commits"] = [
        {"id": "c1", "added": ["envs/prod/web/hand.yaml"], "modified": [], "removed": []}
    ]
    return payload


def test_a_push_to_the_gitops_branch_syncs_its_environments_even_without_sources(
    db: Database,
) -> None:
    pushes = Pushes()
    config = project(forge=receiver("gitea"))
    hooks = HookIntake(
        db,
        project=lambda: config,
        sources=lambda: None,
        gitops=lambda: pushes,
        environ={"HOOK_SECRET": p.SECRET},
        clock=Clock(),
    )
    outcome = hooks.accept("forge", p.gitea("push", gitops_push()))
    assert outcome.outcome == "accepted" and outcome.ignored is None
    assert outcome.gitops is not None and outcome.gitops.environments == ("prod",)
    assert pushes.calls == []  # the answer goes out first
    hooks.refresh_soon(outcome)
    assert [(plan.environments, actor) for plan, actor in pushes.calls] == [
        (("prod",), "hook:forge")
    ]
    [event] = events(db)
    assert event["gitops"] == {
        "commit": "bffeb74224043ba2feb48d137756c8a9331c449a",
        "environments": ["prod"],
        "by": "payload",
    }
    # A push outside envs/ syncs nothing and says so.
    readme = gitops_push()
    readme["commits"][0]["added"] = ["README.md"]
    delivery = p.gitea("push", readme)
    again = replace(delivery, headers={**delivery.headers, "x-gitea-delivery": "g-2"})
    quiet = hooks.accept("forge", again)
    assert quiet.outcome == "ignored" and quiet.gitops is not None
    assert quiet.ignored == "the push to the GitOps branch touched no environment"
    # A push to another branch is no GitOps push: without sources, nothing to do.
    with pytest.raises(DeliveryRefused) as refused:
        hooks.accept("forge", p.gitea("push", gitops_push("refs/heads/feature")))
    assert refused.value.reason == "not-configured"
