"""Pull-request mode's wait as the state handlers take it, with an in-memory forge and
deployer (no git, no cluster): one pull request, the persisted wait, merged -> synced
and verified with statuses on the merge commit, closed -> aborted, base moved -> the
branch made again, and a resume that finds the open pull request instead of a second."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from shiplane.config.models import ReceiverConfig
from shiplane.engine.deploy import DeployOutcome
from shiplane.engine.hooks import HookIntake
from shiplane.engine.promotions import requests
from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.pull_request_hooks import PullRequestFollower
from shiplane.forge import (
    CommitStatus,
    ForgeAuthError,
    ForgeError,
    PullRequest,
    PullRequestState,
    Review,
)
from shiplane.gitops.workspace import Proposal
from shiplane.sources.receivers import DeliveryRefused
from tests.unit.engine.promotions.conftest import ALICE, FakeDeployer, World
from tests.unit.sources import payloads

FORGE = {"forge": {"gitea": {"url": "http://127.0.0.1:3000", "repository": "o/r", "tokenEnv": "T"}}}
PR_MODE = {"prod": {"gitops": {"mode": "pull-request", "pollInterval": "10s"}}}


@dataclass
class FakeForge:
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    refuse: Exception | None = None
    opened: list[tuple[str, str, str]] = field(default_factory=list)
    statuses: list[tuple[str, CommitStatus]] = field(default_factory=list)

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
        self.finish(number, PullRequestState.CLOSED)
        return self.pulls[number]

    async def approvals(self, number: int) -> list[Review]:
        return [Review("bob"), Review("carol")] if number == 1 else []

    async def set_status(self, sha: str, status: CommitStatus) -> None:
        self.statuses.append((sha, status))

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
        outcome = await super().deploy(release, environment, **kwargs)
        self.calls[-1].update(propose=propose, merged=merged)
        if propose is not None:
            sha = f"{len(self.calls):040x}"
            outcome.proposal = Proposal(propose, sha, self.head, created=True, target="main")
            outcome.git_commit = sha
        if merged is not None:
            outcome.git_commit = merged
        return outcome


@pytest.fixture
def pr_world(make_world: Callable[..., World]) -> tuple[World, FakeForge]:
    world = make_world(PR_MODE, **FORGE)
    world.rt.deployer = world.deployer = ProposingDeployer(world.rt.db)
    forge = FakeForge()
    world.rt.forge = lambda project: forge  # type: ignore[assignment,return-value]
    world.rt.public_url = "https://shiplane.example"
    return world, forge


def promote(world: World) -> str:
    release = world.release("2.0")
    record = world.write(lambda s: create_promotion(world.rt, s, release.id, "prod", actor=ALICE))
    return record.id


def later(world: World) -> None:
    world.clock.advance(timedelta(seconds=11))


def test_a_promotion_opens_one_pull_request_and_waits_for_it(
    pr_world: tuple[World, FakeForge],
) -> None:
    world, forge = pr_world
    pid = promote(world)
    record = world.reconcile(pid)
    assert record.state == "Deploying"
    pr = PromotionData.of(record).pull_request
    assert pr is not None and pr["phase"] == "open" and pr["number"] == 1
    assert pr["branch"] == f"shiplane/{pid}"
    assert record.next_check_at is not None  # a persisted wait, not a blocked worker
    assert "waiting for the merge of pull request #1" in record.reason
    ((head, title, body),) = forge.opened
    assert head == f"shiplane/{pid}" and "to prod" in title
    assert "`r.example/web:2.0`" in body and f"/ui/promotions/{pid}" in body
    assert world.deployer.calls[-1]["propose"] == f"shiplane/{pid}"
    for _ in range(3):  # looking again changes nothing while it is open
        later(world)
        record = world.reconcile(pid)
    assert record.state == "Deploying" and len(forge.opened) == 1
    assert len(world.deployer.calls) == 1  # no second render, push or sync


def test_merged_syncs_the_merge_commit_verifies_and_reports(
    pr_world: tuple[World, FakeForge],
) -> None:
    world, forge = pr_world
    pid = promote(world)
    world.reconcile(pid)
    forge.finish(1, PullRequestState.MERGED, "m" * 40)
    later(world)
    record = world.reconcile(pid)
    assert record.state == "Succeeded", record.reason
    assert record.git_commit == "m" * 40
    assert world.deployer.calls[-1]["merged"] == "m" * 40
    pr = PromotionData.of(record).pull_request
    assert pr is not None and pr["approved_by"] == ["bob", "carol"]
    [merged] = [step for step in world.steps(pid) if step.name == "merged"]
    assert "approved on the forge by bob, carol" in merged.detail
    assert [(sha, s.state) for sha, s in forge.statuses] == [
        ("m" * 40, "pending"),
        ("m" * 40, "success"),
    ]
    assert forge.statuses[-1][1].context == "shiplane/verification"


def test_failed_verification_reports_failure(pr_world: tuple[World, FakeForge]) -> None:
    world, forge = pr_world
    world.verifier.script = ["failed"]
    pid = promote(world)
    world.reconcile(pid)
    forge.finish(1, PullRequestState.MERGED, "m" * 40)
    later(world)
    record = world.reconcile(pid)
    assert record.state == "Failed"
    assert forge.statuses[-1][1].state == "failure"


def test_closed_without_merge_aborts(pr_world: tuple[World, FakeForge]) -> None:
    world, forge = pr_world
    pid = promote(world)
    world.reconcile(pid)
    forge.finish(1, PullRequestState.CLOSED)
    later(world)
    record = world.reconcile(pid)
    assert record.state == "Aborted"
    assert record.reason == "pull request #1 was closed without merge (http://forge/pulls/1)"
    assert all(c["merged"] is None for c in world.deployer.calls)  # nothing synced


def test_a_base_that_moved_makes_the_branch_again(pr_world: tuple[World, FakeForge]) -> None:
    world, forge = pr_world
    pid = promote(world)
    world.reconcile(pid)
    world.deployer.head = "b" * 40  # someone pushed to the base branch
    later(world)
    record = world.reconcile(pid)
    pr = PromotionData.of(record).pull_request
    assert pr is not None and pr["base"] == "b" * 40 and pr["number"] == 1
    assert [c["propose"] for c in world.deployer.calls] == [f"shiplane/{pid}"] * 2
    assert len(forge.opened) == 1 and record.state == "Deploying"
    later(world)
    world.reconcile(pid)
    assert len(world.deployer.calls) == 2  # the base stands still now: no third push


def test_a_resume_finds_the_open_pull_request(pr_world: tuple[World, FakeForge]) -> None:
    """Killed after the forge opened it, before it was recorded: the next pass opens
    nothing new (open-or-find by the promotion's branch)."""
    world, forge = pr_world
    pid = promote(world)
    asyncio.run(forge.open_pull_request(f"shiplane/{pid}", "main", "t", "b"))  # earlier life
    record = world.reconcile(pid)
    assert len(forge.opened) == 1
    pr = PromotionData.of(record).pull_request
    assert pr is not None and pr["number"] == 1


def test_rollbacks_and_push_mode_environments_push_directly(
    make_world: Callable[..., World],
) -> None:
    world = make_world({"prod": {}}, **FORGE)
    world.rt.deployer = world.deployer = ProposingDeployer(world.rt.db)
    pid = promote(world)
    record = world.reconcile(pid)
    assert record.state == "Succeeded"
    assert world.deployer.calls[-1]["propose"] is None


def gitea_pull_request(number: int, url: str = "http://127.0.0.1:3000/o/r.git") -> Any:
    """A Gitea `pull_request` delivery's payload (only what is read: action, number,
    repository.clone_url)."""
    return {
        "action": "closed",
        "number": number,
        "pull_request": {"number": number, "merged": True},
        "repository": {"full_name": "o/r", "clone_url": url},
    }


def delivery(payload: Any, n: int, *, secret: str = payloads.SECRET) -> Any:
    made = payloads.gitea("pull_request", payload, secret=secret)
    return dataclasses.replace(made, headers={**made.headers, "x-gitea-delivery": f"g-{n}"})


def test_a_signed_pull_request_delivery_wakes_the_waiting_promotion(
    pr_world: tuple[World, FakeForge],
) -> None:
    world, _ = pr_world
    pid = promote(world)
    world.reconcile(pid)
    assert world.get(pid).next_check_at is not None
    woken: list[bool] = []
    follower = PullRequestFollower(
        "http://owner:tok@127.0.0.1:3000/o/r.git", lambda: woken.append(True)
    )
    config = ReceiverConfig.model_validate({"type": "gitea", "secretEnv": "HOOK_SECRET"})
    project = world.rt.project.model_copy(update={"receivers": {"gitea": config}})
    hooks = HookIntake(
        world.rt.db,
        project=lambda: project,
        sources=lambda: None,
        pulls=lambda: follower,
        environ={"HOOK_SECRET": payloads.SECRET},
    )
    # Another repository's pull request, or another number: nobody wakes.
    other = hooks.accept("gitea", delivery(gitea_pull_request(1, "http://x/y.git"), 1))
    assert other.woke == [] and world.get(pid).next_check_at is not None
    outcome = hooks.accept("gitea", delivery(gitea_pull_request(1) | {"action": "edited"}, 2))
    assert outcome.woke == [pid] and outcome.outcome == "accepted"
    assert world.get(pid).next_check_at is None  # due now
    hooks.refresh_soon(outcome)
    assert woken == [True]
    # A forged one is refused and wakes nothing.
    world.reconcile(pid)
    with pytest.raises(DeliveryRefused):
        hooks.accept(
            "gitea",
            delivery(gitea_pull_request(1) | {"action": "x"}, 3, secret="wrong"),
        )
    assert world.get(pid).next_check_at is not None


def test_aborting_in_shiplane_closes_the_pull_request(pr_world: tuple[World, FakeForge]) -> None:
    world, forge = pr_world
    pid = promote(world)
    world.reconcile(pid)
    aborted = asyncio.run(
        requests.abort_and_reassess(world.rt, pid, actor=ALICE, reason="wrong release")
    )
    assert aborted.state == "Aborted"
    assert forge.pulls[1].state is PullRequestState.CLOSED


def test_a_forge_that_refuses_or_fails_keeps_the_promotion_waiting_and_says_why(
    pr_world: tuple[World, FakeForge],
) -> None:
    world, forge = pr_world
    pid = promote(world)
    forge.refuse = ForgeAuthError("gitea refused the token (401)")
    record = world.reconcile(pid)
    assert record.state == "Deploying" and record.next_check_at is not None
    assert record.reason == "the forge refused: gitea refused the token (401)"
    forge.refuse = ForgeError("gitea did not answer in time")
    later(world)
    assert world.reconcile(pid).reason.startswith("the forge did not answer")
    forge.refuse = None  # fixed: the next look opens the pull request (the branch is kept)
    later(world)
    record = world.reconcile(pid)
    assert (PromotionData.of(record).pull_request or {}).get("number") == 1
    assert len(forge.opened) == 1
