"""Which release an automatic rollback goes back to."""

from __future__ import annotations

from shiplane.domain.rollback import MIXED_RELEASES, NO_EARLIER_RELEASE, rollback_target


def test_every_app_last_verified_with_one_release_rolls_back_to_it():
    target = rollback_target({"web": "rel-a", "api": "rel-a"})
    assert target.release_id == "rel-a" and target.reason == ""


def test_nothing_verified_before_means_no_target():
    target = rollback_target({"web": None})
    assert target.release_id is None and target.reason == NO_EARLIER_RELEASE


def test_apps_verified_with_different_releases_are_left_to_a_person():
    assert rollback_target({"web": "rel-a", "api": "rel-b"}).reason == MIXED_RELEASES
    # One app never verified there: going back would mix versions never tested together.
    assert rollback_target({"web": "rel-a", "api": None}).release_id is None
