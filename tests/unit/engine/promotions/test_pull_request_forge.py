"""Pull-request mode and the forge, with an in-memory forge and deployer: the final
status and the close of an aborted promotion's pull request are persisted duties done
once (asked first), forge reviews as approvals (`approvals.fromForge`: count, also, and
the hold of a merge with too few), and the rollback policy (`gitops.rollback`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from shiplane.domain.errors import ConflictError, ForbiddenError
from shiplane.domain.roles import Role
from shiplane.engine.promotions import requests
from shiplane.engine.promotions.inbox import approvals_inbox
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.permissions import Caller
from shiplane.forge import CommitStatus, PullRequestState
from shiplane.store import audit
from tests.unit.engine.promotions.conftest import ALICE, BOB, World
from tests.unit.engine.promotions.pr_support import (
    FakeForge,
    deliver,
    forge_world,
    later,
    promote,
)
from tests.unit.engine.promotions.pr_support import pr_world as pr_world  # the fixture

MERGE = "m" * 40
GITOPS = {"mode": "pull-request", "pollInterval": "10s"}


def merged(world: World, forge: FakeForge, pid: str, number: int = 1) -> Any:
    forge.finish(number, PullRequestState.MERGED, MERGE)
    later(world)
    return world.reconcile(pid)


def events(world: World, action: str) -> list[Any]:
    found = world.read(lambda s: audit.list_events(s, action=action, limit=100).items)
    return sorted(found, key=lambda e: e.seq)


# --- statuses and closing, as persisted duties ----------------------------------------


def test_the_final_status_survives_a_crash_before_it_was_posted_and_lands_once(
    pr_world: tuple[World, FakeForge],
) -> None:
    """Succeeded is recorded (the duty with it), the process dies before the worker
    ran: the next process's worker posts it, and a worker that posted it but died before
    recording it asks the forge first and does not post it again."""
    world, forge = pr_world
    pid = promote(world)
    world.reconcile(pid)
    assert merged(world, forge, pid).state == "Succeeded"
    assert forge.posted == []  # killed here: nothing told yet, the duties are kept
    # A worker that set the pending status, then "died" before recording it.
    forge.posted.append((MERGE, CommitStatus("pending", "shiplane/verification", "x")))
    forge.posted.append(
        (
            MERGE,
            CommitStatus(
                "pending", "shiplane/verification", "prod: deploying; verification follows"
            ),
        )
    )
    deliver(world, forge)
    states = [s.state for _, s in forge.posted]
    assert states == ["pending", "pending", "success"]  # the pending one not posted twice
    assert deliver(world, forge) == 0


def test_an_abort_closes_the_pull_request_once_even_when_the_forge_closed_it_already(
    pr_world: tuple[World, FakeForge],
) -> None:
    world, forge = pr_world
    pid = promote(world)
    world.reconcile(pid)
    asyncio.run(requests.abort_and_reassess(world.rt, pid, actor=ALICE, reason="no"))
    forge.finish(1, PullRequestState.CLOSED)  # closed by someone before the worker ran
    deliver(world, forge)
    assert forge.closed == []  # asked first: already closed, nothing done


def test_a_pull_request_closed_on_the_forge_is_not_closed_again(
    pr_world: tuple[World, FakeForge],
) -> None:
    world, forge = pr_world
    pid = promote(world)
    world.reconcile(pid)
    forge.finish(1, PullRequestState.CLOSED)
    later(world)
    assert world.reconcile(pid).state == "Aborted"
    assert deliver(world, forge) == 0 and forge.posted == []  # no duty at all


# --- forge reviews as approvals --------------------------------------------------------


def test_count_reviews_replace_the_gate_and_a_merge_with_too_few_is_held(
    make_world: Callable[..., World],
) -> None:
    world, forge = forge_world(
        make_world,
        {"prod": {"gitops": GITOPS, "approvals": {"required": 1, "fromForge": "count"}}},
    )
    forge.reviews = {1: ["alice"]}  # the requester's own review does not count
    pid = promote(world)
    record = world.reconcile(pid)
    assert record.state == "Deploying"  # Shiplane's gate gave way to the reviews
    [gate] = [g for g in PromotionData.of(record).gates or [] if g["gate"] == "approval"]
    assert gate["outcome"] == "pass" and "fromForge: count" in gate["reason"]
    record = merged(world, forge, pid)
    assert record.state == "Deploying"
    pr = PromotionData.of(record).pull_request or {}
    assert pr["phase"] == "held"
    assert record.reason.startswith("held, not synced: pull request #1 has 0 of 1 required")
    assert "alice requested the promotion" in record.reason
    assert all(c["merged"] is None for c in world.deployer.calls)  # nothing synced
    deliver(world, forge)
    [(_, held)] = forge.posted
    assert held.state == "pending" and "held" in held.description
    later(world)
    assert world.reconcile(pid).state == "Deploying"  # asked again: still too few
    forge.reviews = {1: ["alice", "bob"]}  # bob reviews (after the merge)
    later(world)
    record = world.reconcile(pid)
    assert record.state == "Succeeded", record.reason
    assert world.deployer.calls[-1]["merged"] == MERGE
    [approval] = events(world, "promotion.approve")
    assert approval.actor == "bob" and approval.details["source"] == "forge"
    assert approval.details["pull_request"] == 1


def test_a_held_merge_goes_on_with_a_shiplane_approval_given_during_the_hold(
    make_world: Callable[..., World],
) -> None:
    """Gitea takes no review of a merged pull request: an eligible person's approval in
    Shiplane during the hold completes the count; the requester's is refused."""
    world, forge = forge_world(
        make_world,
        {"prod": {"gitops": GITOPS, "approvals": {"required": 1, "fromForge": "count"}}},
    )
    forge.reviews = {}
    pid = promote(world)
    world.reconcile(pid)
    with pytest.raises(ConflictError, match="come from approving reviews"):  # not yet
        world.write(lambda s: requests.approve(world.rt, s, pid, actor=BOB, decision="approve"))
    assert (PromotionData.of(merged(world, forge, pid)).pull_request or {})["phase"] == "held"
    bob = Caller(BOB, Role.APPROVER)
    [item] = world.read(lambda s: approvals_inbox(world.rt.project, s, bob, world.clock.now()))
    assert item.promotion.id == pid and item.missing == 1  # in bob's inbox while held
    with pytest.raises(ForbiddenError, match="cannot approve"):
        world.write(lambda s: requests.approve(world.rt, s, pid, actor=ALICE, decision="approve"))
    world.write(lambda s: requests.approve(world.rt, s, pid, actor=BOB, decision="approve"))
    record = world.reconcile(pid)
    assert record.state == "Succeeded", record.reason
    pr = PromotionData.of(record).pull_request or {}
    assert pr["approval"]["inputs"]["counted"] == ["bob"]
    [approval] = events(world, "promotion.approve")  # bob's own, not a second one
    assert approval.actor == "bob" and "source" not in approval.details


def test_also_needs_shiplane_approval_and_the_forge_reviews(
    make_world: Callable[..., World],
) -> None:
    world, forge = forge_world(
        make_world,
        {"prod": {"gitops": GITOPS, "approvals": {"required": 1, "fromForge": "also"}}},
    )
    forge.reviews = {}
    pid = promote(world)
    assert world.reconcile(pid).state == "Waiting"  # Shiplane's gate first
    world.write(lambda s: requests.approve(world.rt, s, pid, actor=BOB, decision="approve"))
    assert world.reconcile(pid).state == "Deploying"
    record = merged(world, forge, pid)
    assert (PromotionData.of(record).pull_request or {})["phase"] == "held"
    forge.reviews = {1: ["carol"]}
    later(world)
    assert world.reconcile(pid).state == "Succeeded"


# --- rollbacks ------------------------------------------------------------------------


def rollback_world(make_world: Callable[..., World], policy: str) -> tuple[World, FakeForge, str]:
    """prod runs 1.0 (merged and verified); 2.0 merged fails verification: the
    automatic rollback to 1.0 is created. Its id."""
    world, forge = forge_world(
        make_world,
        {"prod": {"gitops": {**GITOPS, "rollback": policy}, "rollback": {"onFailure": "auto"}}},
    )
    forge.reviews = {}
    first = promote(world, "1.0")
    world.reconcile(first)
    assert merged(world, forge, first).state == "Succeeded"
    world.verifier.script = ["failed"]
    second = promote(world, "2.0")
    world.reconcile(second)
    assert merged(world, forge, second, number=2).state == "RollingBack"
    [rollback] = [r for r in world.promotions("prod") if r.kind == "rollback"]
    return world, forge, rollback.id


def test_a_direct_rollback_pushes_at_once_and_says_it_bypassed_review(
    make_world: Callable[..., World],
) -> None:
    world, forge, rollback = rollback_world(make_world, "direct")
    record = world.reconcile(rollback)
    assert record.state == "Succeeded"
    assert world.deployer.calls[-1]["propose"] is None  # pushed to the branch directly
    assert len(forge.opened) == 2  # no pull request for the rollback
    [note] = events(world, "promotion.direct_push")
    assert note.subject == rollback
    assert note.details["note"] == "rolled back by direct push, bypassing review"
    steps = [s.detail for s in world.steps(rollback)]
    assert any("bypassing review" in d for d in steps)


def test_a_pull_request_rollback_waits_for_its_merge(make_world: Callable[..., World]) -> None:
    world, forge, rollback = rollback_world(make_world, "pull-request")
    record = world.reconcile(rollback)
    assert record.state == "Deploying"
    pr = PromotionData.of(record).pull_request or {}
    assert pr["phase"] == "open" and pr["branch"] == f"shiplane/{rollback}"
    assert world.deployer.calls[-1]["kind"] == "rollback"
    assert not events(world, "promotion.direct_push")
    forge.finish(pr["number"], PullRequestState.MERGED, "r" * 40)
    later(world)
    assert world.reconcile(rollback).state == "Succeeded"
