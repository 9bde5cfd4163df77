"""The typed promotion bookkeeping loads what older versions stored; refused requests
raise the error family the API maps to the status people were promised, and change
nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shiplane.api.problems import status_of
from shiplane.domain.errors import ShiplaneError
from shiplane.engine.promotions import requests
from shiplane.engine.promotions.controls import set_freeze, set_hold
from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.model import PromotionData
from shiplane.store import audit, releases
from shiplane.store import promotions as store
from tests.unit.engine.promotions.conftest import ALICE, World


def test_stored_json_round_trips_with_keys_it_does_not_know():
    stored = {
        "request_reason": "ship it",
        "waiting_since": "2026-11-27T12:00:00+00:00",
        "gates": [{"gate": "approval", "outcome": "wait"}],
        "verify": {"healthy": True, "checks": {}},
        "verify_reason": "checks running",
        "written_by_a_newer_version": {"x": 1},
    }
    data = PromotionData.model_validate(stored)
    assert data.waiting_since == datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert data.to_json() == stored
    assert PromotionData.model_validate({}).to_json() == {}
    assert data.but(verify={}).to_json()["verify"] == {}


def counts(w: World) -> tuple[int, int]:
    def read(s):  # type: ignore[no-untyped-def]
        return (
            len(store.list_promotions(s, limit=500).items),
            len(audit.list_events(s, limit=500).items),
        )

    return w.read(read)


def test_refused_requests_have_their_status_and_change_nothing(world: World):
    rt = world.rt
    rel = world.release("1.0")
    api_only, _ = world.write(
        lambda s: releases.create_release(
            s, artifacts={"api": "r.example/api:1"}, alias=None, labels={}, creator="ci"
        )
    )
    p = world.write(lambda s: create_promotion(rt, s, rel.id, "dev", actor=ALICE))
    world.write(lambda s: requests.abort(rt, s, p.id, actor=ALICE, reason="no"))
    cases = [
        (lambda s: create_promotion(rt, s, rel.id, "qa", actor=ALICE), 404, "'qa' is not defined"),
        (lambda s: create_promotion(rt, s, "rel-nope", "dev", actor=ALICE), 404, "no release"),
        (
            lambda s: create_promotion(rt, s, api_only.id, "dev", actor=ALICE),
            422,
            "missing app 'web'",
        ),
        (
            lambda s: requests.approve(rt, s, "prm-x", actor=ALICE, decision="approve"),
            404,
            "no promotion",
        ),
        (
            lambda s: requests.approve(rt, s, p.id, actor=ALICE, decision="approve"),
            409,
            "no approvals",
        ),
        (lambda s: requests.abort(rt, s, p.id, actor=ALICE, reason="again"), 409, "Aborted"),
        (lambda s: requests.retry(rt, s, "prm-x", actor=ALICE), 404, "no promotion"),
        (lambda s: requests.rollback(rt, s, "dev", "web", actor=ALICE), 409, "no earlier release"),
        (lambda s: requests.rollback(rt, s, "dev", "nope", actor=ALICE), 404, "app 'nope'"),
        (
            lambda s: requests.resolve_check(rt, s, p.id, "smoke", passed=True, actor=ALICE),
            409,
            "no check",
        ),
        (
            lambda s: set_hold(rt, s, "nope", "web", actor=ALICE, on=True),
            404,
            "'nope' is not defined",
        ),
        (lambda s: set_freeze(rt, s, "nope", actor=ALICE, on=True), 404, "'nope' is not defined"),
    ]
    before = counts(world)
    for call, status, text in cases:
        with pytest.raises(ShiplaneError) as err:
            world.write(call)
        assert (status_of(err.value), text in err.value.message) == (status, True), err.value
    assert counts(world) == before


def test_a_requester_may_not_approve_their_own_promotion(make_world):  # type: ignore[no-untyped-def]
    world = make_world({"prod": {"approvals": {"required": 1}}})
    p = world.write(
        lambda s: create_promotion(world.rt, s, world.release().id, "prod", actor=ALICE)
    )
    world.reconcile(p.id)
    with pytest.raises(ShiplaneError) as err:
        world.write(lambda s: requests.approve(world.rt, s, p.id, actor=ALICE, decision="approve"))
    assert status_of(err.value) == 403
