"""Forge reviews judged against the approval policy (`approvals.fromForge`)."""

from __future__ import annotations

from typing import Any

from shiplane.config.models import ApprovalPolicy
from shiplane.gates.forge_reviews import (
    forge_approvals_required,
    judge_forge_reviews,
    shiplane_gate_replaced,
)
from shiplane.gates.results import Outcome


def policy(**spec: Any) -> ApprovalPolicy:
    return ApprovalPolicy.model_validate({"fromForge": "count", **spec})


def judge(p: ApprovalPolicy, reviewers: list[str], creator: str | None = "ci") -> Any:
    return judge_forge_reviews(p, number=7, requester="alice", creator=creator, reviewers=reviewers)


def test_enough_eligible_reviews_pass_and_say_who() -> None:
    result = judge(policy(required=2), ["carol", "bob"])
    assert result.outcome is Outcome.PASS
    assert result.reason == "approved on the forge by bob, carol (2 of 2 required)"


def test_the_requester_and_the_creator_do_not_count_unless_allowed() -> None:
    result = judge(policy(), ["alice", "ci"])
    assert result.outcome is Outcome.WAIT
    assert result.reason == (
        "pull request #7 has 0 of 1 required approving reviews (fromForge: count); "
        "not counted: alice requested the promotion; ci created the release"
    )
    assert result.unblock_hint.startswith(
        "1 more approval from a reviewer other than alice: an approving review of pull "
        "request #7 on the forge"
    )
    assert "`shiplane approve` while the merge is held" in result.unblock_hint
    allowed = judge(policy(allowRequester=True), ["alice"])
    assert allowed.outcome is Outcome.PASS


def test_named_users_only_count_when_named() -> None:
    result = judge(policy(users=["bob"]), ["dave"])
    assert result.outcome is Outcome.WAIT
    assert "dave is not one of the users bob" in result.reason
    assert "from users bob" in result.unblock_hint
    assert judge(policy(users=["bob"]), ["bob"]).outcome is Outcome.PASS


def test_which_modes_need_the_forge_and_which_replace_the_gate() -> None:
    assert not forge_approvals_required(None)
    assert not forge_approvals_required(policy(fromForge="none"))
    assert forge_approvals_required(policy(fromForge="also"))
    assert shiplane_gate_replaced(policy()) and not shiplane_gate_replaced(policy(fromForge="also"))
