"""Pull-request mode's test doubles: an in-memory forge, a deployer that proposes on a
branch and syncs a merge commit, a world wired to both, and the notification worker's
passes that deliver forge duties."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from shiplane.engine.deploy import DeployOutcome
from shiplane.engine.notify import NotificationWorker
from shiplane.engine.promotions.create import create_promotion
from shiplane.forge import CommitStatus, PullRequest, PullRequestState, Review
from shiplane.gitops.commits import Proposal
from tests.unit.engine.promotions.conftest import ALICE, FakeDeployer, World

FORGE = {"forge": {"gitea": {"url": "http://127.0.0.1:3000", "repository": "o/r", "tokenEnv": "T"}}}
PR_MODE = {"prod": {"gitops": {"mode": "pull-request", "pollInterval": "10s"}}}


@dataclass
class FakeForge:
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    refuse: Exception | None = None
    opened: list[tuple[str, str, str]] = field(default_factory=list)
    posted: list[tuple[str, CommitStatus]] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    reviews: dict[int, list[str]] = field(default_factory=lambda: {1: ["bob", "carol"]})

    async def open_pull_request(self, head: str, base: str, title: str, body: str) -> PullRequest:
        if self.refuse is not None:
            raise self.refuse
        for pr in self.pulls.values():  # open-or-find, as every driver does
            if pr.head == head and pr.state is PullRequestState.OPEN:
                return pr
        self.opened.append((head, title, body))
        number = len(self.pulls) + 1
        pr = PullRequest(
            number, f"http://forge/pulls/{number}", head, base, title, PullRequestState.OPEN
        )
        self.pulls[number] = pr
        return pr

    async def pull_request(self, number: int) -> PullRequest:
        return self.pulls[number]

    def finish(self, number: int, state: PullRequestState, merge_commit: str | None = None) -> None:
        pr = self.pulls[number]
        self.pulls[number] = PullRequest(
            pr.number, pr.url, pr.head, pr.base, pr.title, state, merge_commit=merge_commit
        )

    async def close_pull_request(self, number: int) -> PullRequest:
        self.closed.append(number)
        self.finish(number, PullRequestState.CLOSED)
        return self.pulls[number]

    async def approvals(self, number: int) -> list[Review]:
        return [Review(user) for user in self.reviews.get(number, [])]

    async def set_status(self, sha: str, status: CommitStatus) -> None:
        self.posted.append((sha, status))

    async def statuses(self, sha: str) -> list[CommitStatus]:
        latest = {s.context: s for commit, s in self.posted if commit == sha}
        return list(latest.values())

    async def aclose(self) -> None:
        return None


@dataclass
class ProposingDeployer(FakeDeployer):
    """The fake deployer, also proposing on a branch and syncing a merge commit."""

    head: str = "a" * 40

    async def base_head(self) -> str:
        return self.head

    async def deploy(  # type: ignore[override]  # pull-request mode's keywords too
        self, release: Any, environment: str, **kwargs: Any
    ) -> DeployOutcome:
        propose = kwargs.pop("propose", None)
        merged = kwargs.pop("merged", None)
        kwargs.pop("inspect", None)  # no render here: nothing to inspect
        outcome = await super().deploy(release, environment, **kwargs)
        self.calls[-1].update(propose=propose, merged=merged)
        if propose is not None:
            sha = f"{len(self.calls):040x}"
            outcome.proposal = Proposal(propose, sha, self.head, created=True, target="main")
            outcome.git_commit = sha
        if merged is not None:
            outcome.git_commit = merged
        return outcome


def forge_world(
    make_world: Callable[..., World], environments: dict[str, Any] | None = None
) -> tuple[World, FakeForge]:
    """A world whose environments (default: prod in pull-request mode) use a FakeForge."""
    world = make_world(environments or PR_MODE, **FORGE)
    world.rt.deployer = world.deployer = ProposingDeployer(world.rt.db)
    forge = FakeForge()
    world.rt.forge = lambda project: forge  # type: ignore[assignment,return-value]
    world.rt.public_url = "https://shiplane.example"
    return world, forge


@pytest.fixture
def pr_world(make_world: Callable[..., World]) -> tuple[World, FakeForge]:
    return forge_world(make_world)


def promote(world: World, version: str = "2.0") -> str:
    release = world.release(version)
    record = world.write(lambda s: create_promotion(world.rt, s, release.id, "prod", actor=ALICE))
    return record.id


def later(world: World) -> None:
    world.clock.advance(timedelta(seconds=11))


def deliver(world: World, forge: FakeForge) -> int:
    """Run the notification worker's passes until no forge duty is due; how many
    attempts it made (what a server's worker does in the background)."""
    worker = NotificationWorker(
        world.rt.db, world.rt.source, clock=world.clock, forge=lambda project: forge
    )
    made = 0
    while attempted := asyncio.run(worker.deliver_due()):
        made += attempted
    return made
