"""Which apps a sync of a whole environment removes, and when removing is refused."""

from __future__ import annotations

from shiplane.domain.app_removal import (
    GONE_FROM_GIT,
    UNDEFINED,
    plan_removal,
    removal_refusal,
    removed_apps,
)

DEFINED = {"web", "api", "pay"}


def test_an_app_with_objects_but_no_directory_in_git_is_removed():
    removed = removed_apps({"web": 3, "api": 2}, in_git={"api"}, defined=DEFINED)
    assert removed == {"web": GONE_FROM_GIT}


def test_an_app_no_longer_defined_is_removed_even_with_a_directory():
    removed = removed_apps({"old": 1, "web": 2}, in_git={"old", "web"}, defined=DEFINED)
    assert removed == {"old": UNDEFINED}


def test_an_empty_inventory_is_nothing_to_remove():
    assert removed_apps({"web": 0}, in_git=set(), defined=DEFINED) == {}


def test_the_limit_counts_every_object_of_the_environment():
    inventories = {"web": 3, "api": 3, "pay": 4}
    assert removal_refusal("prod", {"web": 3}, inventories, 0.5) == ""  # 30%
    assert removal_refusal("prod", {"web": 3, "api": 3}, inventories, 0.5) != ""  # 60%
    assert removal_refusal("prod", {"web": 3, "api": 3}, inventories, 0.6) == ""  # exactly


def test_an_emptied_environment_is_refused_with_what_to_do():
    inventories = {"web": 3, "api": 2}
    reason = removal_refusal("prod", inventories, inventories, 0.5)
    for part in ("api, web", "5 objects", "100%", "50%",
                 "nothing was deleted", "emptied", "envs/prod/",
                 "environments.prod.prune.maxFraction"):  # fmt: skip
        assert part in reason
    assert removal_refusal("prod", inventories, inventories, 1.0) == ""


def test_plan_with_prune_enabled_deletes_or_refuses():
    plan = plan_removal(
        "prod",
        {"web": 2, "api": 2, "pay": 6},
        in_git={"pay"},
        defined=DEFINED,
        orphaned={"api"},
        prune_enabled=True,
        max_fraction=0.5,
    )
    # An app orphaned earlier is deleted once prune is enabled.
    assert plan.delete == ("api", "web") and plan.orphan == () and not plan.refusal
    assert plan.why == {"api": GONE_FROM_GIT, "web": GONE_FROM_GIT}
    refused = plan_removal(
        "prod",
        {"web": 2, "api": 2},
        in_git=set(),
        defined=DEFINED,
        orphaned=set(),
        prune_enabled=True,
        max_fraction=0.5,
    )
    assert refused.delete == ("api", "web") and "refusing" in refused.refusal


def test_plan_with_prune_disabled_orphans_once_and_never_refuses():
    plan = plan_removal(
        "prod",
        {"web": 2, "api": 2},
        in_git=set(),
        defined=DEFINED,
        orphaned={"api"},
        prune_enabled=False,
        max_fraction=0.1,
    )
    assert plan.orphan == ("web",) and plan.delete == () and plan.refusal == ""
    assert plan.apps == ("web",) and bool(plan)


def test_nothing_removed_is_an_empty_plan():
    plan = plan_removal(
        "prod",
        {"web": 2},
        in_git={"web"},
        defined=DEFINED,
        orphaned=set(),
        prune_enabled=True,
        max_fraction=0.5,
    )
    assert not plan and plan.apps == ()
