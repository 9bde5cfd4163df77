"""Pull-request mode's wait as the state handlers take it, with an in-memory forge and
deployer (no git, no cluster): one pull request, the persisted wait, merged -> synced
and verified with statuses on the merge commit, closed -> aborted, base moved -> the
branch made again, and a resume that finds the open pull request instead of a second."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from shiplane.config.models import ReceiverConfig
from shiplane.engine.hooks import HookIntake
from shiplane.engine.promotions import requests
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.pull_request_hooks import PullRequestFollower
from shiplane.forge import (
    ForgeAuthError,
    ForgeError,
    PullRequestState,
)
from shiplane.sources.receivers import DeliveryRefused
from tests.unit.engine.promotions.conftest import ALICE, World
from tests.unit.engine.promotions.pr_support import (
    FORGE,
    FakeForge,
    ProposingDeployer,
    deliver,
    later,
    promote,
)
from tests.unit.engine.promotions.pr_support import pr_world as pr_world  # the fixture
from tests.unit.sources import payloads


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
    assert forge.posted == []  # queued with the transitions, posted by the worker
    deliver(world, forge)
    assert [(sha, s.state) for sha, s in forge.posted] == [
        ("m" * 40, "pending"),
        ("m" * 40, "success"),
    ]
    assert forge.posted[-1][1].context == "shiplane/verification"
    assert deliver(world, forge) == 0  # done: nothing is posted twice


def test_failed_verification_reports_failure(pr_world: tuple[World, FakeForge]) -> None:
    world, forge = pr_world
    world.verifier.script = ["failed"]
    pid = promote(world)
    world.reconcile(pid)
    forge.finish(1, PullRequestState.MERGED, "m" * 40)
    later(world)
    record = world.reconcile(pid)
    assert record.state == "Failed"
    deliver(world, forge)
    assert forge.posted[-1][1].state == "failure"


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
    assert forge.pulls[1].state is PullRequestState.OPEN  # queued with the abort
    deliver(world, forge)
    assert forge.pulls[1].state is PullRequestState.CLOSED and forge.closed == [1]


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
