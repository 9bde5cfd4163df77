"""The reads the UI's views are built on: the approvals inbox, the gates a promotion
would meet (preview), and a release's timeline; on a throwaway SQLite store."""

from __future__ import annotations

from datetime import timedelta

from shiplane.domain.roles import Role
from shiplane.engine.promotions import requests
from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.inbox import approvals_inbox
from shiplane.engine.promotions.model import Actor
from shiplane.engine.promotions.permissions import Caller
from shiplane.engine.promotions.preview import preview_gates
from shiplane.engine.release_views import artifact_changes, release_timeline
from shiplane.store import promotions as store
from tests.unit.engine.promotions.conftest import ALICE, BOB, World

CAROL = Actor("carol", ("release-managers",))
TWO_APPROVALS = {
    "dev": {"autoPromote": True},
    "prod": {
        "after": ["dev"],
        "approvals": {"required": 2, "groups": ["release-managers"], "expiry": "1h"},
    },
}


def _inbox(w: World, caller: Caller) -> list[str]:
    now = w.rt.now()
    return [i.promotion.id for i in w.read(lambda s: approvals_inbox(w.rt.project, s, caller, now))]


def test_inbox_holds_what_the_caller_may_approve(make_world) -> None:  # type: ignore[no-untyped-def]
    w: World = make_world(TWO_APPROVALS)
    rel = w.release("1.0")
    p = w.write(lambda s: create_promotion(w.rt, s, rel.id, "prod", actor=ALICE))
    w.reconcile(p.id)
    dev = w.write(lambda s: create_promotion(w.rt, s, rel.id, "dev", actor=ALICE))
    # The requester may not approve their own promotion: not in their inbox.
    assert _inbox(w, Caller(ALICE, Role.APPROVER)) == []
    assert _inbox(w, Caller(BOB, Role.APPROVER)) == [p.id]
    # Not an approver by role, outside the groups, or scoped elsewhere: nothing.
    assert _inbox(w, Caller(BOB, Role.PROMOTER)) == []
    assert _inbox(w, Caller(Actor("dave", ("developers",)), Role.APPROVER)) == []
    assert _inbox(w, Caller(BOB, Role.APPROVER, ("dev",))) == []
    assert dev.id not in _inbox(w, Caller(BOB, Role.ADMIN))  # dev needs no approvals
    # Bob approves: gone from his inbox, still in Carol's, with Bob's expiry.
    w.write(lambda s: requests.approve(w.rt, s, p.id, actor=BOB, decision="approve"))
    assert _inbox(w, Caller(BOB, Role.APPROVER)) == []
    now = w.rt.now()
    items = w.read(lambda s: approvals_inbox(w.rt.project, s, Caller(CAROL, Role.APPROVER), now))
    assert [i.promotion.id for i in items] == [p.id]
    item = items[0]
    assert (item.required, item.missing, item.approved_by) == (2, 1, ("bob",))
    assert item.expires_at == now + timedelta(hours=1)
    assert item.to_json()["expiry"] == "1h"
    assert item.to_json()["approvers"] == "group release-managers"
    # Once Bob's approval expires, it is back in his inbox.
    w.clock.advance(timedelta(hours=1, seconds=1))
    assert _inbox(w, Caller(BOB, Role.APPROVER)) == [p.id]


def test_enough_approvals_leave_the_inbox(world: World) -> None:
    rel = world.release("1.0")
    p = world.write(lambda s: create_promotion(world.rt, s, rel.id, "prod", actor=ALICE))
    world.reconcile(p.id)
    assert _inbox(world, Caller(CAROL, Role.APPROVER)) == [p.id]
    world.write(lambda s: requests.approve(world.rt, s, p.id, actor=BOB, decision="approve"))
    # One approval was required: nobody is asked any more (it waits for upstream).
    assert _inbox(world, Caller(CAROL, Role.APPROVER)) == []


def test_preview_tells_the_gates_without_creating_anything(world: World) -> None:
    rel = world.release("1.0")
    before = len(world.read(lambda s: store.list_promotions(s, limit=100).items))
    preview = world.read(
        lambda s: preview_gates(world.rt, s, rel.id, "prod", requester="alice", groups=ALICE.groups)
    )
    assert len(world.read(lambda s: store.list_promotions(s, limit=100).items)) == before
    assert preview.refusal is None
    assert preview.decision == "wait"
    gates = {r.gate: r.outcome.value for r in preview.results}
    assert gates == {"freeze": "pass", "hold": "pass", "upstream": "wait", "approval": "wait"}
    # In the words of `promotion explain`, without a headline about a promotion that
    # does not exist.
    assert preview.text.startswith("Waiting on 2 of 4 gates:")
    assert "  - approval: waiting for 1 more approval from group release-managers" in preview.text
    assert "alice cannot approve their own request" in preview.text
    assert "(preview)" not in preview.text
    assert preview.approval is not None
    assert not preview.approval.requester_may_approve
    assert "alice requested this promotion and cannot approve it" in preview.approval.reason
    assert [g["gate"] for g in preview.to_json()["gates"]][2:] == ["upstream", "approval"]


def test_preview_says_when_the_request_itself_would_be_refused(world: World) -> None:
    rel = world.release("1.0")
    viewer = world.read(
        lambda s: preview_gates(world.rt, s, rel.id, "dev", requester="eve", role=Role.VIEWER)
    )
    assert viewer.refusal == "token 'eve' has role 'viewer'; this call needs 'promoter' or higher"
    assert viewer.decision == "pass" and viewer.approval is None
    scoped = world.read(
        lambda s: preview_gates(world.rt, s, rel.id, "prod", requester="eve", scope=("dev",))
    )
    assert scoped.refusal is not None and "does not cover 'prod'" in scoped.refusal


def test_preview_names_the_promotions_it_would_queue_behind(world: World) -> None:
    rel = world.release("1.0")
    first = world.write(lambda s: create_promotion(world.rt, s, rel.id, "prod", actor=ALICE))
    rel2 = world.release("2.0")
    preview = world.read(lambda s: preview_gates(world.rt, s, rel2.id, "prod", requester="bob"))
    assert preview.queued_behind == (first.id,)


def test_timeline_lists_promotions_in_order_with_their_moments(world: World) -> None:
    rel = world.release("1.0")
    dev = world.write(lambda s: create_promotion(world.rt, s, rel.id, "dev", actor=ALICE))
    world.reconcile(dev.id)  # verified in dev: staging auto-promotes it
    world.clock.advance(timedelta(seconds=5))
    prod = world.write(lambda s: create_promotion(world.rt, s, rel.id, "prod", actor=ALICE))
    world.reconcile(prod.id)
    other = world.release("2.0")
    world.write(lambda s: create_promotion(world.rt, s, other.id, "dev", actor=ALICE))
    timeline = world.read(lambda s: release_timeline(world.rt.project, s, rel.alias))
    shown = [(p.promotion.environment, p.promotion.trigger) for p in timeline.promotions]
    assert shown == [("dev", "manual"), ("staging", "auto"), ("prod", "manual")]
    assert timeline.promotions[0].promotion.id == dev.id
    dev_states = [m.state for m in timeline.promotions[0].moments]
    assert dev_states[0] == "Created" and dev_states[-1] == "Succeeded"
    assert "Deploying" in dev_states and "Verifying" in dev_states
    times = [m.at for m in timeline.promotions[0].moments]
    assert times == sorted(times)
    assert [m.state for m in timeline.promotions[2].moments][-1] == "Waiting"
    assert [(d.environment, d.app) for d in timeline.running] == [("dev", "web")]
    assert timeline.environments == ("dev", "staging", "prod")
    body = timeline.to_json()
    assert body["release"]["id"] == rel.id
    assert body["promotions"][0]["moments"][0]["state"] == "Created"


def test_artifact_changes_compare_by_app(world: World) -> None:
    a = world.release("1.0")
    b = world.release("2.0", api="5")
    c = world.release("1.0", api="5")
    changes = {x.app: x.change for x in artifact_changes(a, b)}
    assert changes == {"api": "added", "web": "changed"}
    assert {x.app: x.change for x in artifact_changes(b, c)} == {"api": "same", "web": "changed"}
    assert {x.app: x.change for x in artifact_changes(c, a)} == {"api": "removed", "web": "same"}
