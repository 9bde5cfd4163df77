from __future__ import annotations

from datetime import timedelta

import pytest

from shiplane.domain.clock import ManualClock
from shiplane.domain.promotion import PromotionState
from shiplane.gates import Outcome, check_approver
from shiplane.gates.approval import APPROVAL

from .factory import T0, approval, context, project, promotion, release

PROJECT = project(
    {
        "prod": {
            "approvals": {"required": 2, "groups": ["release-managers"], "expiry": "4h"},
        },
        "staging": {
            "approvals": {"users": ["carol"], "allowRequester": True, "allowCreator": True}
        },
        "dev": {},
    }
)
POLICY = PROJECT.environments["prod"].approvals
assert POLICY is not None


def evaluate(approvals, *, now=T0 + timedelta(minutes=5), env="prod", **kw):
    ctx = context(PROJECT, env=env, approvals=approvals, clock=ManualClock(now), **kw)
    config = APPROVAL.configure(PROJECT, env)
    assert config is not None
    return APPROVAL.evaluate(ctx, config)


def test_no_policy_no_gate():
    assert APPROVAL.configure(PROJECT, "dev") is None


def test_waiting_names_what_is_missing_and_who_cannot_approve():
    result = evaluate([])
    assert result.outcome == Outcome.WAIT
    assert result.reason == (
        "waiting for 2 more approvals from group release-managers; "
        "alice cannot approve their own request"
    )
    assert result.unblock_hint == (
        "someone from group release-managers runs `shiplane approve prm-01` "
        "(2 more approvals needed)"
    )


def test_two_approvers_from_the_group_reach_two():
    one = evaluate([approval("bob")])
    assert one.outcome == Outcome.WAIT
    assert one.reason.startswith(
        "waiting for 1 more approval from group release-managers (approved so far by bob)"
    )
    # When bob's approval expires the count drops: look again then.
    assert one.next_check_at == T0 + timedelta(hours=4)
    two = evaluate([approval("bob"), approval("dave", at=T0 + timedelta(minutes=1))])
    assert two.outcome == Outcome.PASS
    assert two.reason == "approved by bob, dave (2 of 2 required)"


def test_the_same_person_counts_once():
    result = evaluate([approval("bob"), approval("bob", at=T0 + timedelta(minutes=1))])
    assert result.outcome == Outcome.WAIT
    assert [a["why_not"] for a in result.inputs["approvals"]] == ["bob already approved", ""]


def test_self_approval_does_not_count():
    result = evaluate([approval("alice"), approval("bob")])
    assert result.outcome == Outcome.WAIT
    assert "alice cannot approve their own request" in result.reason
    assert result.inputs["approvals"][0]["why_not"] == "alice requested the promotion"


def test_creator_approval_does_not_count_unless_allowed():
    rel = release(creator="erin")
    result = evaluate([approval("erin"), approval("bob")], rel=rel)
    assert result.outcome == Outcome.WAIT
    assert "erin cannot approve a release they created" in result.reason
    # staging allows requester and creator; carol is a named approver there.
    staged = evaluate(
        [approval("carol", groups=(), environment="staging")],
        env="staging",
        rel=release(creator="carol"),
        prm=promotion(environment="staging", requested_by="carol"),
    )
    assert staged.outcome == Outcome.PASS


def test_approvals_expire():
    approvals = [approval("bob"), approval("dave")]
    assert evaluate(approvals, now=T0 + timedelta(hours=3, minutes=59)).outcome == Outcome.PASS
    expired = evaluate(approvals, now=T0 + timedelta(hours=4))
    assert expired.outcome == Outcome.WAIT
    assert "waiting for 2 more approvals" in expired.reason
    assert "expired: bob, dave" in expired.reason
    assert expired.inputs["approvals"][0]["why_not"].startswith("expired at 2026-11-27 16:00 UTC")


def test_approvals_for_another_release_or_environment_never_count():
    result = evaluate(
        [approval("bob", release_id="rel-other"), approval("dave", environment="staging")]
    )
    assert result.outcome == Outcome.WAIT
    assert result.inputs["approvals"] == []


def test_an_approval_binds_to_release_and_environment_not_to_the_promotion():
    # A retry (another promotion of the same release into the same environment) keeps them.
    approvals = [approval("bob", promotion_id="prm-00"), approval("dave", promotion_id="prm-00")]
    assert evaluate(approvals).outcome == Outcome.PASS


def test_outsiders_do_not_count():
    result = evaluate([approval("mallory", groups=("devs",)), approval("bob")])
    assert result.outcome == Outcome.WAIT
    assert result.inputs["approvals"][0]["why_not"] == "mallory is not in group release-managers"


def test_a_rejection_rejects_with_the_reason():
    result = evaluate(
        [approval("bob"), approval("dave", decision="reject", comment="error budget spent")]
    )
    assert result.outcome == Outcome.REJECT
    assert result.reason == "rejected by dave: error budget spent"


def test_a_rejection_binds_to_its_promotion_and_needs_an_eligible_person():
    approvals = [
        approval("dave", decision="reject", promotion_id="prm-00"),
        approval("mallory", decision="reject", groups=("devs",)),
    ]
    assert evaluate(approvals).outcome == Outcome.WAIT


# --- check_approver -----------------------------------------------------------------------


def check(user, *, groups=("release-managers",), approvals=(), decision="approve", **kw):
    return check_approver(
        policy=kw.pop("policy", POLICY),
        promotion=kw.pop("prm", promotion()),
        release=kw.pop("rel", release()),
        user=user,
        groups=groups,
        approvals=approvals,
        now=T0,
        decision=decision,
    )


def test_check_approver_accepts_an_eligible_person():
    assert check("bob") is None
    assert check("bob", decision="reject") is None


@pytest.mark.parametrize(
    "kwargs,code,message",
    [
        (
            {"user": "alice"},
            "self_approval",
            "alice requested this promotion and cannot approve it",
        ),
        ({"user": "ci"}, "creator_approval", "ci created release rel-a and cannot approve it"),
        (
            {"user": "mallory", "groups": ("devs",)},
            "not_an_approver",
            "mallory may not decide on promotions into prod: approvals must come from group "
            "release-managers",
        ),
        (
            {"user": "bob", "approvals": [approval("bob")]},
            "already_approved",
            "bob already approved release rel-a for prod at 2026-11-27 12:00 UTC",
        ),
        (
            {"user": "bob", "prm": promotion(state=PromotionState.ABORTED)},
            "not_waiting",
            "promotion prm-01 is Aborted; only a pending or waiting promotion",
        ),
        ({"user": "bob", "policy": None}, "no_approvals_needed", "prod needs no approvals"),
    ],
)
def test_check_approver_refusals(kwargs, code, message):
    refusal = check(**kwargs)
    assert refusal is not None and refusal.code == code
    assert message in refusal.message


def test_requester_may_still_reject_and_expired_approval_may_be_renewed():
    assert check("alice", decision="reject") is None
    old = approval("bob", at=T0 - timedelta(hours=5))
    assert check("bob", approvals=[old]) is None
